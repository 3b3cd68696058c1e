from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from store.excerpts import answer_check, best_windows, focus_terms
from store.text import query_terms, tokenize
from tests.helpers import DATA

ARTICLE = (
    "The harbour wall in Sandside collapsed in a storm on Monday night. "
    "Nobody was hurt, the council said. "
    "Engineers say repairs will cost about 2.3 million pounds and take until spring. "
    "The wall was built in 1887 by the railway company. "
    "Fishing boats have moved to the marina at Arnside while the work goes on."
)


def _window(question: str, max_words: int = 30, count: int = 1, title: str = "") -> list[str]:
    weights = {t: 1.0 for t in query_terms(question)}
    return [
        ARTICLE[w.start : w.end]
        for w in best_windows(ARTICLE, weights, max_words, question, count, title)
    ]


def test_the_window_is_whole_sentences_around_the_best_match() -> None:
    (text,) = _window("How much will the harbour wall repairs cost?")
    assert "2.3 million pounds" in text
    assert text[0].isupper() and text.endswith(".")
    assert len(text.split()) <= 30


def test_the_sentence_with_the_kind_of_answer_asked_for_wins() -> None:
    (text,) = _window(
        "In what year was the harbour wall in Sandside built?",
        max_words=12,
        title="Harbour wall collapses in Sandside storm",
    )
    assert text == "The wall was built in 1887 by the railway company."


def test_the_run_naming_the_kind_of_thing_asked_about_wins() -> None:
    text = (
        "Snow closed the pass on Monday. "
        "Ploughs cleared the snowed-in summit pass by noon. "
        "The ploughs came from the depot at Kelby, a town in the valley. "
        "The road reopened on Tuesday."
    )
    question = "Which depot town sent the ploughs to the snowed-in summit pass?"
    weights = {t: 1.0 for t in query_terms(question)}
    (window,) = best_windows(text, weights, 12, question, answer_bonus=0.0, focus_bonus=1.0)
    assert text[window.start : window.end] == (
        "The ploughs came from the depot at Kelby, a town in the valley."
    )
    (without,) = best_windows(
        text, weights, 12, question, focus_bonus=0.0, answer_bonus=0.0, named_bonus=0.0
    )
    assert text[without.start : without.end] == "Ploughs cleared the snowed-in summit pass by noon."


@pytest.mark.parametrize(
    ("first", "answer", "question"),
    [
        # "which": a new name beside the focus word
        (
            "The virus spread quickly across the county this spring, officials said.",
            "The senator died of Powassan virus last week.",
            "Which virus killed the senator in the county?",
        ),
        # "who": a new name beside any question word the title lacks
        (
            "Lune lost at the riverside ground on Saturday afternoon after a long fight.",
            "Harrow coach Jonah Pike praised the defence.",
            "Who coaches the side that beat Lune?",
        ),
    ],
)
def test_a_new_name_beside_the_asked_word_wins(first: str, answer: str, question: str) -> None:
    text = f"{first} {answer}"
    weights = {t: 1.0 for t in query_terms(question)}

    def best(named_bonus: float) -> str:
        (window,) = best_windows(
            text, weights, 14, question, answer_bonus=0.0, named_bonus=named_bonus
        )
        return text[window.start : window.end]

    assert best(0.5) == answer
    assert best(0.0) == first


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        ("Which tick-borne virus caused the death of the senator?", "virus"),
        ("Which student won the olympiad?", "student"),
        ("What type of helicopter hit the power lines?", "helicopter"),
        ("In which city did they meet?", "city"),
        ("Which Georgia Tech marine ecologist led the research?", "ecologist"),
        ("Which Hungarian daily first disclosed the purchase?", "daily"),
        ("What was the original name of the singer?", ""),
        ("Who won the election?", ""),
        ("How many measles cases were recorded?", "cases"),
    ],
)
def test_the_focus_is_the_head_of_the_asked_noun_phrase(question: str, focus: str) -> None:
    assert focus_terms(question) == set(tokenize(focus))


def test_title_words_count_for_little_inside_the_article() -> None:
    (text,) = _window(
        "Where did the harbour fishing boats go?",
        max_words=14,
        title="Harbour wall collapses in Sandside",
    )
    assert "marina at Arnside" in text


def test_a_question_naming_only_the_articles_subject_is_answered_by_its_opening() -> None:
    text = (
        "Engineers finished rebuilding it on Friday, two years after the storm. "
        "The harbour wall in Sandside had collapsed in a gale in 2024. "
        "Boats return to the quay next week."
    )
    title = "Sandside harbour wall rebuilt"

    def first_window(question: str) -> str:
        weights = {t: 1.0 for t in query_terms(question)}
        (window,) = best_windows(text, weights, 14, question, 1, title)
        return text[window.start : window.end]

    # The second sentence names the wall, the harbour and Sandside; the first is the news.
    assert first_window("Sandside harbour wall").startswith("Engineers finished rebuilding")
    assert first_window("Tell me about the harbour wall").startswith("Engineers finished")
    # A word the title lacks asks something more: the sentence holding it answers.
    assert first_window("When did the harbour wall collapse?").startswith("The harbour wall")


def test_a_title_naming_a_country_by_its_peoples_word_names_the_country() -> None:
    text = (
        "On Sunday in Congress, President of Argentina Alberto Fernández announced a bill. "
        "Thousands of people had gathered outside the building with green scarves. "
        "Following the announcement, the director of Argentina's Amnesty International, "
        "Mariela Belski, said the president had heard the demands of women."
    )
    question = "Who is the president of Argentina?"
    weights = {t: 1.0 for t in query_terms(question)}
    title = "Argentine president Fernández to send abortion bill to Congress"
    (window,) = best_windows(text, weights, 14, question, 1, title)
    assert text[window.start : window.end].startswith("On Sunday in Congress, President of")


def test_the_run_holding_a_quoted_phrase_wins() -> None:
    question = 'harbour wall storm "boats moved"'
    weights = {t: 1.0 for t in query_terms(question)}
    (plain,) = best_windows(ARTICLE, weights, 12, question)
    assert ARTICLE[plain.start : plain.end].startswith("The harbour wall in Sandside collapsed")
    phrase = tuple(tokenize("boats moved"))
    (window,) = best_windows(ARTICLE, weights, 12, question, phrases=[phrase])
    assert ARTICLE[window.start : window.end] == (
        "Fishing boats have moved to the marina at Arnside while the work goes on."
    )


def test_the_questions_first_words_count_most() -> None:
    # Two sentences hold two question words each: a tie, which the longer sentence wins,
    # unless the question's first words count more.
    question = "repairs cost boats marina"
    weights = {t: 1.0 for t in query_terms(question)}
    (tie,) = best_windows(ARTICLE, weights, 12, question)
    assert ARTICLE[tie.start : tie.end].startswith("Fishing boats have moved")
    (window,) = best_windows(ARTICLE, weights, 12, question, position_decay=0.1)
    assert ARTICLE[window.start : window.end].startswith("Engineers say repairs will cost")


def test_several_windows_do_not_overlap() -> None:
    windows = _window("harbour wall repairs boats", max_words=20, count=3)
    assert len(windows) == 3
    for i, a in enumerate(windows):
        for b in windows[i + 1 :]:
            assert a not in b and b not in a


def test_a_single_long_sentence_is_kept_whole() -> None:
    text = "word " * 200 + "end."
    (window,) = best_windows(text, {"word": 1.0}, 80)
    assert text[window.start : window.end] == text.strip()


@pytest.mark.parametrize(
    ("question", "sentence", "fits"),
    [
        ("In what year did it open?", "It opened in 1987.", True),
        ("When did it open?", "It opened in March.", True),
        ("How many people came?", "About 800 people came.", True),
        ("How many people came?", "Many people came.", False),
        ("Who scored?", "The winner was scored by Jonah Pike.", True),
        ("Who scored for Harrow?", "It was a goal for Harrow.", False),
        ("Why did it close?", "It closed in 1987.", None),
    ],
)
def test_answer_kinds(question: str, sentence: str, fits: bool | None) -> None:
    check = answer_check(question)
    assert (None if check is None else check(sentence)) == fits


def test_eval_command_reports_newsbot_and_baseline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "--db",
            str(tmp_path / "unused.db"),
            "eval",
            "--json",
            str(DATA / "sample.jsonl"),
            str(DATA / "sample_questions.jsonl"),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 6
    assert report["newsbot"]["top1"] == 1.0
    assert report["newsbot"]["top3"] >= report["baseline"]["top3"]
    assert 0 < report["mean_excerpt_words"] <= 80
    assert not (tmp_path / "unused.db").exists()  # it works in a temporary database


def test_eval_lists_misses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "x", "question": "What colour is the moon?", "answers": ["cheese"]})
        + "\n"
    )
    assert main(["eval", str(DATA / "sample.jsonl"), str(questions)]) == 0
    out = capsys.readouterr().out
    assert "miss x (answer at rank None): What colour is the moon?" in out
    assert "expected: cheese" in out


def test_eval_reads_plain_files_and_names_bad_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    articles = tmp_path / "a.jsonl"
    records = [
        {"title": "Bridge", "text": "Mayor Jane Smith opened the new bridge."},
        {"title": "Empty", "text": ""},
        # A link or date newsbot cannot read costs the article its attribution, not its place.
        {"url": "wn-0002", "published": "sometime", "text": "Rain flooded Leeds all week."},
    ]
    articles.write_text("\n\n".join(json.dumps(r) for r in records) + "\n")
    questions = tmp_path / "q.jsonl"
    asked = [
        {"question": "Who opened the bridge?", "answers": "Jane Smith"},
        {"question": "Which city was flooded?", "answer": "Leeds"},
    ]
    questions.write_text("\n".join(json.dumps(q) for q in asked))
    assert main(["eval", "--json", str(articles), str(questions)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["articles"] == 2 and report["questions"] == 2
    assert report["newsbot"]["top1"] == 1.0  # no "id" needed, and one answer as a string
    (skipped,) = report["skipped_articles"]
    assert skipped.startswith("line 3: ")
    for line, error in [
        ("not json", "q.jsonl line 1: not JSON"),
        ("[1, 2]", "q.jsonl line 1: not a JSON object"),
        ('{"answers": ["x"]}', 'q.jsonl line 1: no "question" text'),
        ('{"question": "Who?", "answers": []}', '"answers" must be a list of strings'),
    ]:
        questions.write_text(line + "\n")
        assert main(["eval", str(articles), str(questions)]) == 1
        assert error in capsys.readouterr().err
