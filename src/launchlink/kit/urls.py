"""The one validator for every URL an operator stores (artwork, destinations, link-only
pre-save URLs, and webhook URLs when they come).

Rules, each with its reason:

* ``https://`` only; ``http://`` only to a loopback host (``localhost``, 127.0.0.0/8,
  ``[::1]``), which can only ever reach the viewer's own machine, so a development
  instance can use its own ``http://127.0.0.1:8000/static/...`` artwork. No
  ``javascript:``, ``data:``, ``file:`` or relative URLs: these URLs land in ``href`` and
  ``src`` attributes and in ``Location`` headers.
* no user name or password (``https://bank.example@evil.example/`` reads as the bank);
* a host name that IDNA accepts (stored as its ASCII ``xn--`` form, so a look-alike
  Unicode host is visible as such) or an IP literal; a valid port;
* no whitespace, control or invisible formatting characters anywhere, no backslash
  (browsers read it as ``/``); non-ASCII and ``"<>`` and the like in path and query are
  percent-encoded (``%`` itself is kept: the URL may already be encoded);
* at most :data:`MAX_URL_LENGTH` characters.

URLs are parsed, never fetched (see ``connectors/http.py`` for outbound calls).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import quote, urlsplit, urlunsplit

import idna
from pydantic import AfterValidator, Field

from launchlink.kit.text import TextRefused, single_line

MAX_URL_LENGTH = 2048
URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"<>\\^`{|}')
"""Characters that may stand in a Location header or an .ics URI unencoded; quote the rest."""
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


class UrlRefused(ValueError):
    """The URL breaks one of the rules above; the message says which."""


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ascii_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise UrlRefused(f"{host!r} is not a valid host name") from None


def check_url(value: str) -> str:
    """The normalised URL, or :class:`UrlRefused` naming the broken rule."""
    url = value.strip()
    if not url:
        raise UrlRefused("must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"must be at most {MAX_URL_LENGTH} characters")
    if any(char.isspace() for char in url) or "\\" in url:
        raise UrlRefused("must not contain spaces or backslashes")
    try:
        single_line(url)
    except TextRefused as error:
        raise UrlRefused(str(error)) from None
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme not in ("https", "http"):
        shown = f"{scheme}:" if scheme else "a relative"
        raise UrlRefused(f"must be an https:// URL, not {shown} URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("has a malformed host or port") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("must not contain a user name or password (the part before '@')")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("has no host name")
    if scheme == "http" and not _is_loopback(host):
        raise UrlRefused("must be an https:// URL (http:// is only accepted for localhost)")
    ascii_host = _ascii_host(host)
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc += f":{port}"
    normalised: str = urlunsplit(
        (
            scheme,
            netloc,
            quote(parts.path, safe=URL_SAFE),
            quote(parts.query, safe=URL_SAFE),
            quote(parts.fragment, safe=URL_SAFE),
        )
    )
    if len(normalised) > MAX_URL_LENGTH:
        raise UrlRefused(f"must be at most {MAX_URL_LENGTH} characters once encoded")
    return normalised


OperatorUrl = Annotated[str, Field(max_length=MAX_URL_LENGTH), AfterValidator(check_url)]
"""A URL an operator stores, checked and normalised by :func:`check_url`."""
