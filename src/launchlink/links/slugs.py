"""What a link slug may be; some words belong to the application's own routes."""

from __future__ import annotations

import re

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")

RESERVED_SLUGS = frozenset(
    {
        "api", "static", "_sim", "presave", "oauth", "dashboard", "healthz", "admin",
        "login", "logout", "favicon.ico", "robots.txt", "sitemap.xml", "well-known",
        "fan", "fans", "unsubscribe", "revoke", "r", "l", "s", "docs", "readyz", "metrics",
    }
)  # fmt: skip


class SlugError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate_slug(value: str) -> str:
    if not SLUG_PATTERN.match(value):
        raise SlugError(
            "a slug is 1-64 lower-case letters, digits and hyphens, "
            "not starting or ending with a hyphen"
        )
    if value in RESERVED_SLUGS:
        raise SlugError(f"'{value}' is reserved by launchlink; choose another slug")
    return value
