"""DKIM signing of outgoing email with the operator's key (RFC 6376, dkimpy).

The signature covers ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058 §3.1
requires both to be signed, or mailbox providers ignore the one-click header), besides
the usual From/To/Subject/Date/Message-ID and the MIME headers. Relaxed header
canonicalisation and simple body canonicalisation: relays commonly re-fold headers but
rarely touch a body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dkim

SIGNED_HEADERS: tuple[str, ...] = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Reply-To",
)


class DkimKeyError(ValueError):
    """The configured DKIM key cannot sign (not a PEM RSA private key)."""


@dataclass(frozen=True)
class DkimSigner:
    """Signs with one key for one domain (``d=``) and selector (``s=``)."""

    domain: str
    selector: str
    private_key_pem: bytes = field(repr=False)

    @classmethod
    def from_file(cls, *, domain: str, selector: str, path: Path) -> DkimSigner:
        try:
            pem = path.read_bytes()
        except OSError as error:
            raise DkimKeyError(f"cannot read the DKIM key {path}: {error.strerror}") from None
        return cls(domain=domain, selector=selector, private_key_pem=pem)

    def signature_header(self, message: bytes) -> bytes:
        """The ``DKIM-Signature: …`` line (CRLF-terminated) to prepend to ``message``."""
        present = {name.lower() for name, _value in dkim.rfc822_parse(message)[0]}
        include = [h.encode() for h in SIGNED_HEADERS if h.lower().encode() in present]
        try:
            header: bytes = dkim.sign(
                message,
                self.selector.encode(),
                self.domain.encode(),
                self.private_key_pem,
                canonicalize=(b"relaxed", b"simple"),
                include_headers=include,
            )
        except dkim.KeyFormatError as error:
            raise DkimKeyError(f"the DKIM key cannot sign: {error}") from None
        return header

    def sign(self, message: bytes) -> bytes:
        """``message`` with its DKIM-Signature header in front."""
        return self.signature_header(message) + message


def dns_record(public_key_der_b64: str) -> str:
    """The TXT record to publish at ``<selector>._domainkey.<domain>``."""
    return f"v=DKIM1; k=rsa; p={public_key_der_b64}"
