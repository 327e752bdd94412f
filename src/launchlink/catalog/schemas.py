from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Self
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from launchlink.catalog.identifiers import IdentifierError, normalize_isrc, normalize_upc
from launchlink.kit.text import SingleLine
from launchlink.kit.urls import OperatorUrl
from launchlink.models.catalog import ReleaseType
from launchlink.platforms import PLATFORMS

Name = Annotated[SingleLine, Field(min_length=1, max_length=200)]
Title = Annotated[SingleLine, Field(min_length=1, max_length=300)]


def _strip_required(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _upc(value: str) -> str:
    try:
        return normalize_upc(value)
    except IdentifierError as error:
        raise ValueError(error.message) from None


def _isrc(value: str) -> str:
    try:
        return normalize_isrc(value)
    except IdentifierError as error:
        raise ValueError(error.message) from None


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/London)") from None
    return value


def _service_ids(value: dict[str, str]) -> dict[str, str]:
    for service, external_id in value.items():
        if service not in PLATFORMS:
            raise ValueError(f"unknown service {service!r}; known: {', '.join(PLATFORMS)}")
        if not external_id.strip() or len(external_id) > 200:
            raise ValueError(f"the {service} id must be 1-200 characters")
    return value


StrippedName = Annotated[Name, AfterValidator(_strip_required)]
StrippedTitle = Annotated[Title, AfterValidator(_strip_required)]
Upc = Annotated[str, Field(max_length=20), AfterValidator(_upc)]
Isrc = Annotated[str, Field(max_length=20), AfterValidator(_isrc)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_time_zone)]
ServiceIds = Annotated[dict[str, SingleLine], Field(max_length=40), AfterValidator(_service_ids)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArtistCreate(Strict):
    name: StrippedName
    service_ids: ServiceIds = Field(
        default_factory=dict, description="Service key → the artist's id on that service."
    )


class ArtistUpdate(Strict):
    name: StrippedName | None = None
    service_ids: ServiceIds | None = None


class ArtistRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    service_ids: dict[str, str]
    created_at: datetime
    updated_at: datetime


class TrackWrite(Strict):
    title: StrippedTitle
    isrc: Isrc | None = None
    duration_ms: int | None = Field(default=None, ge=1, le=24 * 3600 * 1000)


class TrackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    position: int
    title: str
    isrc: str | None
    duration_ms: int | None


ReleaseModeName = Literal["global", "local"]


class _ReleaseTimingRules(Strict):
    release_mode: ReleaseModeName | None = None
    release_instant: AwareDatetime | None = None
    release_date: date | None = None

    def check_timing(self, mode: str | None) -> None:
        if mode == "global" and self.release_instant is None:
            raise ValueError("release_instant is required when release_mode is 'global'")
        if mode == "local" and self.release_date is None:
            raise ValueError("release_date is required when release_mode is 'local'")


class ReleaseCreate(_ReleaseTimingRules):
    title: StrippedTitle
    type: ReleaseType
    artist_ids: list[UUID] = Field(min_length=1, max_length=20)
    upc: Upc | None = None
    artwork_url: OperatorUrl | None = None
    label_name: Name | None = None
    release_mode: ReleaseModeName = Field(
        description="'global': everyone at release_instant; 'local': local midnight of "
        "release_date in each territory."
    )
    time_zone: TimeZone = Field(
        default="UTC", description="IANA zone for local-mode visitors whose territory is unknown."
    )
    tracks: list[TrackWrite] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _timing(self) -> Self:
        self.check_timing(self.release_mode)
        return self


class ReleaseUpdate(_ReleaseTimingRules):
    title: StrippedTitle | None = None
    type: ReleaseType | None = None
    artist_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=20)
    upc: Upc | None = None
    artwork_url: OperatorUrl | None = None
    label_name: Name | None = None
    time_zone: TimeZone | None = None
    tracks: list[TrackWrite] | None = Field(
        default=None, max_length=500, description="Replaces the whole track list."
    )

    @model_validator(mode="after")
    def _timing(self) -> Self:
        self.check_timing(self.release_mode)
        return self


class ReleaseArtistRead(BaseModel):
    id: UUID
    name: str


class ReleaseRead(BaseModel):
    id: UUID
    title: str
    type: ReleaseType
    artists: list[ReleaseArtistRead]
    upc: str | None
    artwork_url: str | None
    label_name: str | None
    release_mode: ReleaseModeName
    release_instant: datetime | None
    release_date: date | None
    time_zone: str
    tracks: list[TrackRead]
    created_at: datetime
    updated_at: datetime


class ArtistPage(BaseModel):
    items: list[ArtistRead]
    next_cursor: str | None


class ReleasePage(BaseModel):
    items: list[ReleaseRead]
    next_cursor: str | None
