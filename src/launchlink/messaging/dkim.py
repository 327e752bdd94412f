"""DKIM signing of outgoing email with the operator's key (RFC 6376).

The signature covers ``List-Unsubscribe`` and ``List-Unsubscribe-Post`` (RFC 8058 §3.1
requires both to be signed, or mailbox providers ignore the one-click header), besides
the usual From/To/Subject/Date/Message-ID and the MIME headers. Relaxed header
canonicalisation and simple body canonicalisation: relays commonly re-fold headers but
rarely touch a body.

dkimpy does the canonicalisation, header selection and folding (and verifies, in the
tests); the RSA operation is OpenSSL's (``cryptography``): dkimpy's own pure-Python RSA
takes about 26 ms per signature on our machine, which would cap a worker at ~40 emails/s,
against about 1 ms here.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from dkim.canonicalization import CanonicalizationPolicy

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


_POLICY = CanonicalizationPolicy.from_c_value(b"relaxed/simple")
_NAME = b"DKIM-Signature"


@dataclass(frozen=True)
class DkimSigner:
    """Signs with one key for one domain (``d=``) and selector (``s=``)."""

    domain: str
    selector: str
    private_key_pem: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _ = self._key  # a bad key fails at start-up, not at the first email

    @classmethod
    def from_file(cls, *, domain: str, selector: str, path: Path) -> DkimSigner:
        try:
            pem = path.read_bytes()
        except OSError as error:
            raise DkimKeyError(f"cannot read the DKIM key {path}: {error.strerror}") from None
        return cls(domain=domain, selector=selector, private_key_pem=pem)

    @cached_property
    def _key(self) -> rsa.RSAPrivateKey:
        try:
            key = serialization.load_pem_private_key(self.private_key_pem, password=None)
        except (ValueError, TypeError):
            raise DkimKeyError("the DKIM key is not an unencrypted PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 1024:
            raise DkimKeyError("the DKIM key must be an RSA key of at least 1024 bits")
        return key

    def signature_header(self, message: bytes, *, now: float | None = None) -> bytes:
        """The ``DKIM-Signature: …`` line (CRLF-terminated) to prepend to ``message``."""
        headers, body = dkim.rfc822_parse(message)
        present = {name.lower() for name, _value in headers}
        include = tuple(h.lower().encode() for h in SIGNED_HEADERS if h.lower().encode() in present)
        if b"from" not in include:
            raise DkimKeyError("an email without From cannot be DKIM-signed")
        body_hash = base64.b64encode(hashlib.sha256(_POLICY.canonicalize_body(body)).digest())
        fields = [
            (b"v", b"1"),
            (b"a", b"rsa-sha256"),
            (b"c", b"relaxed/simple"),
            (b"d", self.domain.encode()),
            (b"s", self.selector.encode()),
            (b"t", str(int(now if now is not None else time.time())).encode()),
            (b"h", b" : ".join(include)),  # spaces: folding may break only there
            (b"bh", body_hash),
            (b"b", b""),
        ]
        unsigned = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(_NAME))
        digest = hashlib.sha256()
        dkim.hash_headers(
            digest,
            _POLICY,
            _POLICY.canonicalize_headers(headers),
            include,
            (_NAME, b" " + unsigned),
            dict(fields),
        )
        signature = self._key.sign(
            digest.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
        )
        fields[-1] = (b"b", base64.b64encode(signature))
        value = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(_NAME))
        folded: bytes = value
        return _NAME + b": " + folded + b"\r\n"

    def sign(self, message: bytes) -> bytes:
        """``message`` with its DKIM-Signature header in front."""
        return self.signature_header(message) + message


def dns_record(public_key_der_b64: str) -> str:
    """The TXT record to publish at ``<selector>._domainkey.<domain>``."""
    return f"v=DKIM1; k=rsa; p={public_key_der_b64}"
