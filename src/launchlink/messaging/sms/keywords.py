"""What a fan's text means: opt-out, opt-in, help, or nothing we act on.

The CTIA/carrier keywords are matched as the whole message (case and surrounding
punctuation ignored): STOP, STOPALL, UNSUBSCRIBE, END, QUIT, CANCEL, REVOKE, OPTOUT opt
out; START, YES, UNSTOP opt in; HELP, INFO ask for help. Free-text opt-outs ("please stop
texting me", "remove me from this list") are recognised by a short list of phrases: the
FCC's 2024 revocation rule says consent may be revoked "in any reasonable manner", and
erring towards an opt-out costs one fan's texts, erring away a complaint.
"""

from __future__ import annotations

import enum
import re


class Intent(enum.StrEnum):
    opt_out = "opt_out"
    opt_in = "opt_in"
    help = "help"
    other = "other"


OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP", "Y"})
HELP_WORDS = frozenset({"HELP", "INFO"})

_FREE_TEXT_OPT_OUT = re.compile(
    r"\b(stop (texting|messaging|sending|contacting)|don'?t (text|message|contact)|"
    r"do not (text|message|contact)|remove me|take me off|unsubscribe me|opt me out|"
    r"no more (texts|messages)|leave me alone)\b",
    re.IGNORECASE,
)
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def keyword_of(body: str) -> Intent:
    """The keyword the whole message is (what carriers and Twilio act on), else other."""
    word = " ".join(_EDGES.sub("", body).upper().split())
    if word in OPT_OUT_WORDS:
        return Intent.opt_out
    if word in OPT_IN_WORDS:
        return Intent.opt_in
    if word in HELP_WORDS:
        return Intent.help
    return Intent.other


def intent_of(body: str) -> Intent:
    """The keyword, else a free-text opt-out, else other."""
    keyword = keyword_of(body)
    if keyword is Intent.other and _FREE_TEXT_OPT_OUT.search(body):
        return Intent.opt_out
    return keyword
