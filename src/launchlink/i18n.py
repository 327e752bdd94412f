"""Fan-facing languages: gettext catalogues, ``Accept-Language`` negotiation, dates.

Catalogues are Babel ``.po`` files under ``locale/<lang>/LC_MESSAGES/messages.po``,
compiled in memory at start-up (no ``.mo`` file is committed or built). English is the
source language: its strings are the msgids, so it needs no catalogue.

Regenerate the template after changing fan-facing text::

    python -m launchlink.i18n extract     # writes locale/messages.pot
    python -m launchlink.i18n update      # merges it into every messages.po

Release titles and artist names are data, never passed through gettext.
"""

from __future__ import annotations

import gettext
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton, get_timezone_location
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE_DIR = Path(__file__).parent
LOCALE_DIR = PACKAGE_DIR / "locale"
MAPPING_FILE = LOCALE_DIR / "babel.cfg"
TEMPLATE_FILE = LOCALE_DIR / "messages.pot"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}

# Dates for English readers use day-month order and a 24-hour clock: "00:00" is the one
# unambiguous way to write a midnight release (12:00 AM confuses).
_FORMAT_LOCALES = {"en": "en_GB"}
_NEGOTIATION_CACHE_LIMIT = 2048


@dataclass
class Catalogues:
    """Every shipped language's translations, loaded once at start-up."""

    translations: dict[str, gettext.NullTranslations]
    default_language: str = DEFAULT_LANGUAGE
    _negotiated: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, locale_dir: Path = LOCALE_DIR) -> Catalogues:
        translations: dict[str, gettext.NullTranslations] = {
            DEFAULT_LANGUAGE: gettext.NullTranslations()
        }
        for po_path in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            language = po_path.parent.parent.name
            translations[language] = _compile(po_path, language)
        return cls(translations=translations)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.translations)

    def get(self, language: str) -> gettext.NullTranslations:
        return self.translations.get(language) or self.translations[self.default_language]

    def negotiate(self, accept_language: str | None, fallback: str | None = None) -> str:
        """The best shipped language for an ``Accept-Language`` header (cached); when the
        header names none we ship (or there is none), ``fallback`` (a workspace's base
        language) if we ship it, else the default."""
        chosen = self._negotiated.get(accept_language) if accept_language else ""
        if chosen is None:
            assert accept_language is not None
            chosen = self._negotiate(accept_language)
            if len(self._negotiated) >= _NEGOTIATION_CACHE_LIMIT:
                # Headers are few and repetitive; a reset now and then beats an LRU.
                self._negotiated.clear()
            self._negotiated[accept_language] = chosen
        if chosen:
            return chosen
        if fallback is not None and fallback in self.translations:
            return fallback
        return self.default_language

    def _negotiate(self, accept_language: str) -> str:
        """The shipped language the header asks for; "" when it asks for none of them
        ("*" too: any language will do, so the caller's fallback is as good as any)."""
        for tag in _ranked_language_tags(accept_language):
            if tag == "*":
                return ""
            if tag in self.translations:
                return tag
            primary = tag.split("-", 1)[0]
            if primary in self.translations:
                return primary
        return ""


def _ranked_language_tags(header: str) -> list[str]:
    """Language tags by descending q-value (stable for ties), q=0 dropped."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.partition(";")
        tag = tag.strip().lower().replace("_", "-")
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    weighted.sort()
    return [tag for _, _, tag in weighted]


def _compile(po_path: Path, language: str) -> gettext.NullTranslations:
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def format_release_moment(
    moment: datetime, zone_name: str, language: str, *, midnight: str | None = None
) -> str:
    """e.g. "Friday, 4 December 2026, 17:00" in the visitor's language and time zone.

    ``midnight`` is the word for 00:00 in that language (from its catalogue): a release at
    local midnight reads "Friday, 4 December 2026, midnight", which no clock format says
    unambiguously (00:00 looks like a typo to many, 12:00 AM confuses).
    """
    locale = Locale.parse(_FORMAT_LOCALES.get(language, language))
    local = moment.astimezone(ZoneInfo(zone_name))
    pattern = str(locale.datetime_formats["full"])
    at_midnight = midnight is not None and (local.hour, local.minute, local.second) == (0, 0, 0)
    clock = midnight if at_midnight and midnight else format_skeleton("Hm", local, locale=locale)
    return pattern.replace("{1}", format_date(local, "full", locale=locale)).replace("{0}", clock)


def format_zone(zone_name: str, language: str) -> str:
    """The zone's reference city in the visitor's language, e.g. "Los Ángeles"."""
    locale = Locale.parse(_FORMAT_LOCALES.get(language, language))
    return str(get_timezone_location(ZoneInfo(zone_name), locale=locale, return_city=True))


# --- catalogue maintenance (developer tooling, not used at run time) -----------------


def extract_messages() -> Catalog:
    """Every fan-facing msgid in the code and templates named by ``locale/babel.cfg``."""
    with MAPPING_FILE.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    catalog = Catalog(project="launchlink", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE_DIR,
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalog.add(
            message,
            None,
            [(filename, lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def shipped_catalogue_paths() -> Iterator[tuple[str, Path]]:
    for po_path in sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        yield po_path.parent.parent.name, po_path


def _write_template() -> None:
    catalog = extract_messages()
    with TEMPLATE_FILE.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=True)


def _update_catalogues() -> None:
    template = extract_messages()
    for language, po_path in shipped_catalogue_paths():
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        with po_path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, ignore_obsolete=True)


def main(argv: list[str]) -> int:
    commands = {"extract": _write_template, "update": _update_catalogues}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: python -m launchlink.i18n extract|update", file=sys.stderr)
        return 2
    commands[argv[0]]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
