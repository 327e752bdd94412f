"""Errors of the service registry; the API layer maps them to 4xx responses."""

from __future__ import annotations


class UnknownPlatform(LookupError):
    """No service is registered under this key."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.message = f"Unknown service {key!r}."
        super().__init__(self.message)


class DestinationUrlError(ValueError):
    """A destination URL an operator entered cannot be used; ``message`` says how to fix it.

    Messages name at most the host of the URL, never the whole URL: pasted links can carry
    personal tokens in their query strings.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
