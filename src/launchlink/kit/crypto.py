"""Secrets: API keys (hashed at rest), passwords (scrypt), signed values."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

API_KEY_PREFIX = "ll"


def new_api_key() -> tuple[str, str]:
    """A fresh API key and its public prefix; only the key's hash is ever stored."""
    prefix = secrets.token_hex(4)
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix


def hash_api_key(key: str) -> str:
    # API keys carry 256 random bits, so a fast hash is enough (as for GitHub tokens);
    # a slow KDF would only slow every API request.
    return hashlib.sha256(key.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(salt_b64)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


class TokenCipher:
    """Encrypts fans' service tokens at rest with a rotatable list of Fernet keys.

    The first key encrypts; every key decrypts, so rotation is: prepend a new key,
    re-encrypt (``rotate``), then drop the old key.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise TokenDecryptionError(
                "a stored token cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, ciphertext: bytes) -> bytes:
        return self._fernet.rotate(ciphertext)


class TokenDecryptionError(Exception):
    pass


def keyed_hash(secret: str, value: str) -> str:
    """A stable, non-reversible fingerprint (e.g. of an IP) that needs the secret to compute."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
