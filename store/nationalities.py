"""Nationality words and their countries: a question about "the French president" is also
about "the president of France", and news says it both ways."""

from __future__ import annotations

from store.text import tokenize

# nationality:country, as written; both sides become terms as any text does ("Iranians"
# and "Iranian" are one term, and so are "French" and "french").
_PAIRS = """
    afghan:afghanistan albanian:albania algerian:algeria american:america argentine:argentina
    argentinian:argentina armenian:armenia australian:australia austrian:austria
    azerbaijani:azerbaijan bahraini:bahrain bangladeshi:bangladesh belarusian:belarus
    belgian:belgium bolivian:bolivia bosnian:bosnia brazilian:brazil british:britain
    bulgarian:bulgaria burmese:myanmar cambodian:cambodia cameroonian:cameroon canadian:canada
    chilean:chile chinese:china colombian:colombia congolese:congo croatian:croatia cuban:cuba
    cypriot:cyprus danish:denmark dutch:netherlands ecuadorian:ecuador egyptian:egypt
    emirati:emirates estonian:estonia ethiopian:ethiopia fijian:fiji filipino:philippines
    finnish:finland french:france georgian:georgia german:germany ghanaian:ghana greek:greece
    guatemalan:guatemala haitian:haiti honduran:honduras hungarian:hungary icelandic:iceland
    indian:india indonesian:indonesia iranian:iran iraqi:iraq irish:ireland israeli:israel
    italian:italy jamaican:jamaica japanese:japan jordanian:jordan kazakh:kazakhstan
    kenyan:kenya korean:korea kosovar:kosovo kuwaiti:kuwait kyrgyz:kyrgyzstan latvian:latvia
    lebanese:lebanon libyan:libya lithuanian:lithuania macedonian:macedonia malawian:malawi
    malaysian:malaysia maltese:malta mexican:mexico moldovan:moldova mongolian:mongolia
    montenegrin:montenegro moroccan:morocco namibian:namibia nepalese:nepal nepali:nepal
    nicaraguan:nicaragua nigerian:nigeria norwegian:norway omani:oman pakistani:pakistan
    palestinian:palestine panamanian:panama paraguayan:paraguay peruvian:peru polish:poland
    portuguese:portugal qatari:qatar romanian:romania russian:russia rwandan:rwanda samoan:samoa
    scottish:scotland senegalese:senegal serbian:serbia singaporean:singapore
    slovak:slovakia slovenian:slovenia somali:somalia spanish:spain sudanese:sudan
    swedish:sweden swiss:switzerland syrian:syria taiwanese:taiwan tanzanian:tanzania
    thai:thailand tongan:tonga tunisian:tunisia turkish:turkey ugandan:uganda ukrainian:ukraine
    uruguayan:uruguay uzbek:uzbekistan venezuelan:venezuela vietnamese:vietnam welsh:wales
    yemeni:yemen zambian:zambia zimbabwean:zimbabwe african:africa asian:asia european:europe
"""


def _terms_of(pairs: str) -> dict[str, str]:
    found = {}
    for pair in pairs.split():
        nationality, country = (tokenize(word) for word in pair.split(":"))
        found[nationality[0]] = country[0]
    return found


_COUNTRY_OF = _terms_of(_PAIRS)


def country_of(term: str) -> str | None:
    """The term of the country whose nationality ``term`` names ("french" -> "franc", the
    stem of "France"), if it names one."""
    return _COUNTRY_OF.get(term)
