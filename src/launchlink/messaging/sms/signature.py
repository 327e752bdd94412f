"""``X-Twilio-Signature``: how Twilio signs the requests it sends us, and how we check.

The signature is base64(HMAC-SHA1(auth token, URL + every POST parameter's name and value,
sorted by name)), over the full URL Twilio was configured with (scheme, host, path and
query). We recompute it from *our own* public URL, never from the request's Host header,
which a forger controls; a request whose signature does not match is refused (403) before
its parameters are read as facts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    payload = url + "".join(f"{name}{value}" for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid_signature(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    if not signature:
        return False
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())
