import re
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po

from launchlink.i18n import (
    TEMPLATE_FILE,
    Catalogues,
    extract_messages,
    format_release_moment,
    shipped_catalogue_paths,
)

SHIPPED = {"en", "es", "pt", "fr", "de", "it", "nl"}


@pytest.fixture(scope="module")
def catalogues() -> Catalogues:
    return Catalogues.load()


def test_every_promised_language_is_shipped(catalogues: Catalogues) -> None:
    assert set(catalogues.languages) == SHIPPED


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr", "fr"),
        ("pt-BR", "pt"),
        ("pt_BR", "pt"),
        ("es-419,es;q=0.9", "es"),
        ("ja, de;q=0.5", "de"),
        ("de;q=0.4, it;q=0.8", "it"),
        ("nl;q=0, fr;q=0.1", "fr"),
        ("ja, zh-CN", "en"),
        ("*", "en"),
        ("fr;q=bogus, de", "de"),
        ("DE-at", "de"),
    ],
)
def test_accept_language_negotiation(
    catalogues: Catalogues, header: str | None, expected: str
) -> None:
    assert catalogues.negotiate(header) == expected


def test_negotiation_answers_stay_right_when_cached(catalogues: Catalogues) -> None:
    assert catalogues.negotiate("pt-BR,pt;q=0.9") == "pt"
    assert catalogues.negotiate("pt-BR,pt;q=0.9") == "pt"
    assert catalogues.negotiate("en-GB") == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "de"),
        ("ja, zh-CN", "de"),
        ("*", "de"),
        ("fr", "fr"),
        ("ja, en;q=0.1", "en"),
    ],
)
def test_a_workspace_base_language_answers_when_the_visitor_asks_for_none_we_have(
    catalogues: Catalogues, header: str | None, expected: str
) -> None:
    assert catalogues.negotiate(header, "de") == expected
    # The cache keeps what the header asked for, not another workspace's fallback.
    assert catalogues.negotiate(header, "nl") == ("nl" if expected == "de" else expected)


def test_a_base_language_we_do_not_ship_falls_back_to_the_default(catalogues: Catalogues) -> None:
    assert catalogues.negotiate("ja", "ja") == "en"


def test_every_fan_facing_message_is_translated_in_every_catalogue() -> None:
    expected = {message.id for message in extract_messages() if message.id}
    assert expected, "extraction found no messages"
    for language, path in shipped_catalogue_paths():
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=language)
        for msgid in expected:
            message = catalogue.get(msgid)
            assert message is not None, f"{language}: missing {msgid!r}"
            assert not message.fuzzy, f"{language}: fuzzy {msgid!r}"
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings), f"{language}: untranslated {msgid!r}"


def test_the_committed_template_matches_the_code_and_templates() -> None:
    with TEMPLATE_FILE.open("rb") as handle:
        committed = {message.id for message in read_po(handle) if message.id}
    assert committed == {message.id for message in extract_messages() if message.id}


def test_placeholders_survive_translation() -> None:
    for language, path in shipped_catalogue_paths():
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=language)
        for message in catalogue:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = {p for msgid in ids for p in _placeholders(msgid)}
            for string in strings:
                assert _placeholders(string) == wanted, f"{language}: {message.id!r}"


def _placeholders(text: str) -> set[str]:

    return set(re.findall(r"%\([a-z_]+\)s", text))


def test_translations_are_used(catalogues: Catalogues) -> None:
    assert catalogues.get("de").gettext("Listen on") == "Anhören auf"
    assert catalogues.get("es").ngettext("%(count)s day to go", "%(count)s days to go", 3) == (
        "Faltan %(count)s días"
    )
    assert catalogues.get("fr").ngettext("%(count)s day to go", "%(count)s days to go", 1) == (
        "Plus que %(count)s jour"
    )


def test_unknown_language_falls_back_to_english(catalogues: Catalogues) -> None:
    assert catalogues.get("xx").gettext("Listen on") == "Listen on"


def test_release_moment_is_written_in_the_visitors_language_and_zone() -> None:
    moment = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    assert format_release_moment(moment, "Europe/London", "en") == "Friday, 4 December 2026, 00:00"
    assert format_release_moment(moment, "America/Los_Angeles", "en") == (
        "Thursday, 3 December 2026, 16:00"
    )
    assert (
        format_release_moment(moment, "Europe/Berlin", "de") == "Freitag, 4. Dezember 2026, 01:00"
    )


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Friday, 4 December 2026, midnight"),
        ("de", "Freitag, 4. Dezember 2026, Mitternacht"),
        ("fr", "vendredi 4 décembre 2026, minuit"),
        ("es", "viernes, 4 de diciembre de 2026, medianoche"),
        ("it", "venerdì 4 dicembre 2026 mezzanotte"),
        ("nl", "vrijdag 4 december 2026, middernacht"),
        ("pt", "sexta-feira, 4 de dezembro de 2026 meia-noite"),
    ],
)
def test_a_release_at_local_midnight_says_midnight_in_every_language(
    catalogues: Catalogues, language: str, expected: str
) -> None:
    moment = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    midnight = catalogues.get(language).gettext("midnight")
    assert format_release_moment(moment, "Europe/London", language, midnight=midnight) == expected
    # Any other time keeps the clock: only 00:00 is ambiguous.
    later = datetime(2026, 12, 4, 0, 1, tzinfo=UTC)
    assert midnight not in format_release_moment(later, "UTC", language, midnight=midnight)
