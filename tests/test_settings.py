from __future__ import annotations

import dataclasses
import logging
import tomllib
import typing
from pathlib import Path

import pytest

from bot.settings import DEFAULT_SETTINGS_PATH, Settings, SettingsError, load_settings


def _fields(cls: type, prefix: str = "") -> set[str]:
    names = set()
    for name, hint in typing.get_type_hints(cls).items():
        if dataclasses.is_dataclass(hint):
            names |= _fields(hint, f"{prefix}{name}.")  # type: ignore[arg-type]
        else:
            names.add(prefix + name)
    return names


def _keys(table: dict[str, object], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in table.items():
        if isinstance(value, dict):
            keys |= _keys(value, f"{prefix}{key}.")
        else:
            keys.add(prefix + key)
    return keys


def test_settings_toml_and_the_dataclasses_name_the_same_settings() -> None:
    with DEFAULT_SETTINGS_PATH.open("rb") as f:
        assert _keys(tomllib.load(f)) == _fields(Settings)


def test_every_default_is_documented_with_a_comment() -> None:
    # A comment may cover a run of related settings right below it (k1 and b, the timeouts).
    lines = DEFAULT_SETTINGS_PATH.read_text().splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            above = number - 1
            while "=" in lines[above] and not lines[above].startswith("#"):
                above -= 1
            assert lines[above].startswith("#"), f"undocumented setting: {line}"


def test_a_user_file_changes_only_what_it_names(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text("[search]\nmax_results = 5\n[fetch]\ntotal_timeout = 3\n")
    settings = load_settings(mine, environ={})
    assert settings.search.max_results == 5
    assert settings.fetch.total_timeout == 3.0
    assert settings.search.candidates == load_settings(environ={}).search.candidates


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[search]\nmax_result = 5\n", "unknown setting search.max_result"),
        ("[serch]\n", "unknown setting serch"),
        ("[fetch]\nallow_private_urls = 'yes'\n", "must be true or false"),
        ("[search]\nk1 = 'high'\n", "must be a float"),
        ("[search]\ncandidates = -1\n", "must not be negative"),
        ("[passages]\nmin_words = 500\n", "min_words must not exceed"),
        ("search = 3\n", "must be a table"),
        ("[search\n", "not valid TOML"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(SettingsError, match=message):
        load_settings(bad, environ={})


def test_environment_overrides(tmp_path: Path) -> None:
    settings = load_settings(environ={"NEWSBOT_DB": "/x/y.db", "NEWSBOT_ALLOW_PRIVATE_URLS": "1"})
    assert settings.database.path == "/x/y.db"
    assert settings.fetch.allow_private_urls is True
    assert load_settings(environ={}).fetch.allow_private_urls is False
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "none.toml", environ={})


def test_settings_are_frozen() -> None:
    settings = load_settings(environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.search.k1 = 2.0  # type: ignore[misc]


def test_a_retired_setting_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    user = tmp_path / "mine.toml"
    user.write_text("[search]\ncandidate_postings = 20000\nmax_results = 5\n")
    with caplog.at_level(logging.WARNING, logger="bot.settings"):
        settings = load_settings(user, environ={})
    assert settings.search.max_results == 5
    assert "search.candidate_postings is no longer used" in caplog.text
