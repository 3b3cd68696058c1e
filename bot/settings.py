"""settings.toml -> typed, frozen settings.

The repository's settings.toml holds every default. A user file passed with --settings only
needs the keys it changes; unknown keys and wrong types are errors, so typos do not pass
silently (settings retired by an upgrade are ignored with a warning).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
import types
import typing
import zoneinfo
from pathlib import Path
from typing import Any

from store.search import SearchConfig

log = logging.getLogger(__name__)

DEFAULT_SETTINGS_PATH = Path(__file__).resolve().parent.parent / "settings.toml"


class SettingsError(Exception):
    """A settings file that cannot be used; the message says why."""


@dataclasses.dataclass(frozen=True)
class DatabaseSettings:
    path: str
    busy_timeout_ms: int
    read_threads: int


@dataclasses.dataclass(frozen=True)
class PassageSettings:
    min_words: int
    max_words: int


@dataclasses.dataclass(frozen=True)
class SearchSettings(SearchConfig):
    """[search]: the store's search knobs (store/search.py), and how many excerpts a page of
    answers shows."""

    max_results: int


@dataclasses.dataclass(frozen=True)
class FetchSettings:
    connect_timeout: float
    read_timeout: float
    total_timeout: float
    max_bytes: int
    max_redirects: int
    user_agent: str
    allow_private_urls: bool
    allowed_networks: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class IngestSettings:
    batch_size: int
    index_every_passages: int
    max_text_chars: int
    default_source: str


@dataclasses.dataclass(frozen=True)
class RenderSettings:
    max_message_chars: int
    max_quote_chars: int


@dataclasses.dataclass(frozen=True)
class TelegramSettings:
    api_url: str
    poll_timeout: int
    max_retries: int


@dataclasses.dataclass(frozen=True)
class BotSettings:
    results_per_page: int
    more_button_days: int
    max_document_bytes: int
    sources_listed: int
    link_post_max_words: int
    max_links_per_message: int


# None means everyone; otherwise the Telegram user ids and chat ids allowed.
Audience = frozenset[int] | None


@dataclasses.dataclass(frozen=True)
class AccessSettings:
    ask: Audience
    add: Audience
    admins: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class RateLimitSettings:
    questions_per_minute: int
    ingests_per_minute: int


@dataclasses.dataclass(frozen=True)
class AlertSettings:
    min_coverage: float
    common_word_share: float
    common_word_min_passages: int
    duplicate_similarity: float
    duplicate_window_hours: int
    check_interval: float
    match_batch: int
    burst_size: int
    max_per_message: int
    max_attempts: int
    retry_delay: float
    max_topics_per_chat: int
    default_timezone: str
    default_digest_hour: int


@dataclasses.dataclass(frozen=True)
class FeedSettings:
    poll_interval: float
    jitter: float
    max_backoff: float
    max_items_per_poll: int
    check_interval: float
    concurrent_polls: int


@dataclasses.dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    passages: PassageSettings
    search: SearchSettings
    fetch: FetchSettings
    ingest: IngestSettings
    render: RenderSettings
    telegram: TelegramSettings
    bot: BotSettings
    access: AccessSettings
    rate_limit: RateLimitSettings
    alerts: AlertSettings
    feeds: FeedSettings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise SettingsError(f"settings file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"settings file {path} is not valid TOML: {e}") from None


# Settings that no longer exist: a file that still sets one loads, with a warning, rather
# than stopping the bot after an upgrade.
RETIRED_SETTINGS = {
    "search.candidate_postings": "the search index now scores every passage exactly",
    "search.common_only_postings": "the search index now scores every passage exactly",
}


def _merge(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if f"{where}{key}" in RETIRED_SETTINGS:
            log.warning(
                "setting %s%s is no longer used (%s); ignored",
                where,
                key,
                RETIRED_SETTINGS[f"{where}{key}"],
            )
            continue
        if key not in base:
            raise SettingsError(f"unknown setting {where}{key}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise SettingsError(f"setting {where}{key} must be a table")
            merged[key] = _merge(base[key], value, f"{where}{key}.")
        else:
            merged[key] = value
    return merged


def _coerce(value: Any, expected: Any, name: str) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is bool and not isinstance(value, bool):
        raise SettingsError(f"setting {name} must be true or false, not {value!r}")
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise SettingsError(f"setting {name} must be a whole number, not {value!r}")
    if not isinstance(value, expected):
        raise SettingsError(f"setting {name} must be a {expected.__name__}, not {value!r}")
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value < 0
        and not name.endswith("item")  # ids: group chats are negative
    ):
        raise SettingsError(f"setting {name} must not be negative")
    return value


def _items(value: Any, kind: type, name: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise SettingsError(f"setting {name} must be a list")
    return tuple(_coerce(item, kind, f"{name} item") for item in value)


def _audience(value: Any, name: str) -> Audience:
    if value == "everyone":
        return None
    if not isinstance(value, list):
        raise SettingsError(f'setting {name} must be "everyone" or a list of ids')
    ids = set()
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int):
            raise SettingsError(f"setting {name} must list whole-number ids, not {item!r}")
        ids.add(item)
    return frozenset(ids)


def _build(cls: type[Any], data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        name = f"{where}{field.name}"
        if field.name not in data:
            raise SettingsError(f"setting {name} is missing from the defaults")
        expected = hints[field.name]
        if dataclasses.is_dataclass(expected):
            kwargs[field.name] = _build(expected, data[field.name], f"{name}.")  # type: ignore[arg-type]
        elif isinstance(expected, types.UnionType):  # Audience
            kwargs[field.name] = _audience(data[field.name], name)
        elif isinstance(expected, types.GenericAlias):  # tuple[X, ...]
            kwargs[field.name] = _items(data[field.name], expected.__args__[0], name)
        else:
            kwargs[field.name] = _coerce(data[field.name], expected, name)
    return cls(**kwargs)


def load_settings(
    path: str | Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Defaults from settings.toml, then the user's file, then environment overrides."""
    env = os.environ if environ is None else environ
    data = _read_toml(DEFAULT_SETTINGS_PATH)
    if path is not None and Path(path).resolve() != DEFAULT_SETTINGS_PATH:
        data = _merge(data, _read_toml(Path(path)), "")
    if env.get("NEWSBOT_DB"):
        data["database"]["path"] = env["NEWSBOT_DB"]
    if env.get("NEWSBOT_ALLOW_PRIVATE_URLS", "").strip().lower() in {"1", "true", "yes"}:
        data["fetch"]["allow_private_urls"] = True
    if env.get("NEWSBOT_API_URL"):
        data["telegram"]["api_url"] = env["NEWSBOT_API_URL"]
    settings: Settings = _build(Settings, data, "")
    try:
        zoneinfo.ZoneInfo(settings.alerts.default_timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"setting alerts.default_timezone: unknown timezone {settings.alerts.default_timezone}"
        ) from None
    if not 0 <= settings.alerts.default_digest_hour <= 23:
        raise SettingsError("setting alerts.default_digest_hour must be an hour from 0 to 23")
    if settings.passages.min_words > settings.passages.max_words:
        raise SettingsError("setting passages.min_words must not exceed passages.max_words")
    return settings


def with_database(settings: Settings, path: str) -> Settings:
    return dataclasses.replace(settings, database=dataclasses.replace(settings.database, path=path))


def with_api_url(settings: Settings, api_url: str) -> Settings:
    return dataclasses.replace(
        settings, telegram=dataclasses.replace(settings.telegram, api_url=api_url)
    )
