"""Secrets: API keys (hashed at rest), passwords (argon2id), signed values."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
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


# argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile: t=3, 64 MiB, p=4).
_PASSWORDS = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so a login takes as long for a stranger as for a
    user. Made on first use: hashing costs 64 MiB and a third of a second of CPU, which
    every worker and CLI process would otherwise pay at import without ever logging in."""
    return _PASSWORDS.hash(secrets.token_urlsafe(16))


def warm_up_password_hashing() -> None:
    """Make the dummy hash now (the web process's start-up), not on a stranger's login."""
    _dummy_hash()


def hash_password(password: str) -> str:
    return _PASSWORDS.hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored`` (argon2id, or the scrypt hashes of before).

    Without a stored hash the work is done anyway against a dummy, so timing does not
    tell which accounts exist.
    """
    if stored is None or stored.startswith("scrypt$"):
        if stored is None:
            _verify_argon2(password, _dummy_hash())
            return False
        return _verify_scrypt(password, stored)
    return _verify_argon2(password, stored)


def password_needs_rehash(stored: str) -> bool:
    """True for hashes made with older parameters or scheme (rehash at the next login)."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _PASSWORDS.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_argon2(password: str, stored: str) -> bool:
    try:
        return _PASSWORDS.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _scheme, salt_b64, digest_b64 = stored.split("$")
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return hmac.compare_digest(digest, expected)


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
