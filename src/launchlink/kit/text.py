"""Operator-entered text: refuse characters that break lines or hide what a text says.

Titles, names and campaign texts end up in email subjects, ``.ics`` lines, HTML pages,
CSV exports and the dashboard. Characters that can break those (CR, LF, NUL and the other
C0/C1 controls) or that make a text look different from what it is (bidi overrides and
isolates such as U+202E, zero-width spaces, BOMs, tag characters: every Unicode "format"
character) are refused at the schema with a 422 naming the field, rather than cleaned up
somewhere downstream.

Two kinds of field:

* :data:`SingleLine` (titles, names, ids, playlist names...): none of the above, no tab.
* :data:`MultiLine` (consent texts): LF and tab are allowed; CRLF is read as LF (browser
  text areas send CRLF); a lone CR is refused.

Zero-width joiner and non-joiner (U+200D, U+200C) are the two format characters allowed:
emoji sequences and several scripts (Persian, Indic) need them to be written at all.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

_JOINERS = frozenset({"\u200c", "\u200d"})
_DIRECTION_MARKS = frozenset(
    {
        "\u061c",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    }
)
_MULTI_LINE_ALLOWED = frozenset({"\n", "\t"})


class TextRefused(ValueError):
    """The text holds a character no operator text may hold; the message names it."""


def _describe(char: str) -> str | None:
    """What is wrong with ``char`` in operator text, or None when it is fine."""
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"a control character (U+{code:04X})"
    if char in _DIRECTION_MARKS:
        return f"an invisible text-direction character (U+{code:04X})"
    category = unicodedata.category(char)
    if category == "Cf" and char not in _JOINERS:
        return f"an invisible formatting character (U+{code:04X})"
    if category in ("Zl", "Zp"):
        return f"a line separator (U+{code:04X})"
    if category == "Cs":
        return f"a lone surrogate (U+{code:04X})"
    if code in (0xFFFE, 0xFFFF):
        return f"a non-character (U+{code:04X})"
    return None


def _check(value: str, allowed: frozenset[str]) -> str:
    for position, char in enumerate(value):
        if char in allowed:
            continue
        problem = _describe(char)
        if problem is not None:
            raise TextRefused(f"contains {problem} at position {position}; remove it")
    return value


def single_line(value: str) -> str:
    """``value`` unchanged, or :class:`TextRefused` for a control or invisible character."""
    return _check(value, frozenset())


def multi_line(value: str) -> str:
    """Like :func:`single_line` but keeps line breaks (LF; CRLF becomes LF) and tabs."""
    return _check(value.replace("\r\n", "\n"), _MULTI_LINE_ALLOWED)


def one_line(value: str) -> str:
    """``value`` with every character :func:`single_line` refuses turned into a space
    (runs collapsed): for sinks such as an email subject or a calendar summary that must
    stay one clean line whatever the data (text from a streaming service is not checked
    at a schema)."""
    cleaned = "".join(" " if _describe(char) is not None else char for char in value)
    return " ".join(cleaned.split()) if cleaned != value else value


SingleLine = Annotated[str, AfterValidator(single_line)]
"""A string with no control or invisible formatting characters (see the module doc)."""
MultiLine = Annotated[str, AfterValidator(multi_line)]
"""A string that may hold line breaks and tabs, and nothing else invisible."""
