from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from launchlink.kit.text import SingleLine
from launchlink.links.slugs import SlugError, validate_slug

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _slug(value: str) -> str:
    try:
        return validate_slug(value)
    except SlugError as error:
        raise ValueError(error.message) from None


def _hostname(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_HOSTNAME_LABEL.match(x) for x in labels):
        raise ValueError(f"{value!r} is not a hostname like music.example.com")
    return value


parse_hostname = _hostname
"""A hostname as custom domains store it (lower case, no trailing dot); ValueError if not."""


def _country_urls(value: dict[str, str]) -> dict[str, str]:
    for country in value:
        if not _COUNTRY.match(country):
            raise ValueError(f"{country!r} is not an ISO 3166 country code like 'US'")
    return value


Slug = Annotated[str, Field(max_length=64), AfterValidator(_slug)]
Hostname = Annotated[str, Field(max_length=253), AfterValidator(_hostname)]
# Destination URLs are checked by the service (platform hosts first, then the common rules
# of kit/urls.py) so a pasted "open.spotify.com/..." without a scheme can be upgraded.
Url = Annotated[SingleLine, Field(min_length=1, max_length=2048)]
ServiceName = Annotated[SingleLine, Field(min_length=1, max_length=32)]
CountryUrls = Annotated[dict[str, Url], Field(max_length=250), AfterValidator(_country_urls)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DestinationCreate(Strict):
    service: ServiceName
    url: Url
    country_urls: CountryUrls = Field(
        default_factory=dict, description="ISO country → URL used for visitors from there."
    )
    hidden: bool = False
    position: int | None = Field(
        default=None, ge=0, le=1000, description="0 is first; omitted: after the others."
    )


class DestinationUpdate(Strict):
    url: Url | None = None
    country_urls: CountryUrls | None = None
    hidden: bool | None = None
    position: int | None = Field(default=None, ge=0, le=1000)


class DestinationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    service: str
    url: str
    country_urls: dict[str, str]
    position: int
    hidden: bool


class LinkCreate(Strict):
    release_id: UUID
    slug: Slug
    custom_domain: Hostname | None = Field(
        default=None, description="A custom domain of this workspace; omitted: this instance."
    )
    destinations: list[DestinationCreate] = Field(default_factory=list, max_length=60)


class LinkUpdate(Strict):
    slug: Slug | None = None
    custom_domain: Hostname | None = None
    release_id: UUID | None = None


class LinkRead(BaseModel):
    id: UUID
    release_id: UUID
    slug: str
    custom_domain: str | None
    url: str
    version: int
    destinations: list[DestinationRead]
    created_at: datetime
    updated_at: datetime


class LinkPage(BaseModel):
    items: list[LinkRead]
    next_cursor: str | None


class DestinationOrder(Strict):
    services: list[ServiceName] = Field(min_length=1, max_length=60)


class CustomDomainCreate(Strict):
    hostname: Hostname


class CustomDomainUpdate(Strict):
    root_link_id: UUID | None


class DomainVerify(Strict):
    method: Literal["dns", "http"] | None = Field(
        default=None, description="Check only this proof; omitted: DNS, then HTTP."
    )


class DomainVerificationRead(BaseModel):
    """What to publish to prove ownership: either the DNS record or the HTTP file."""

    dns_name: str = Field(description="Create a TXT record with this name...")
    dns_value: str = Field(description="...holding exactly this value.")
    http_url: str = Field(description="Or serve this URL over plain HTTP (no redirect)...")
    http_body: str = Field(description="...answering exactly this text.")


class CustomDomainRead(BaseModel):
    id: UUID
    hostname: str
    status: Literal["pending", "verified"] = Field(
        description="pending: serves nothing until verified (POST /domains/{id}/verify)."
    )
    root_link_id: UUID | None
    verification: DomainVerificationRead | None = Field(
        description="While pending: the record or file that proves ownership."
    )
    verified_at: datetime | None
    verified_by: Literal["dns", "http"] | None
    created_at: datetime
