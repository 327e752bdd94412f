"""Request and response shapes of auto-fill and pre-launch checks."""

from __future__ import annotations

import copy
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from launchlink.catalog.schemas import Isrc, Name, ReleaseModeName, TimeZone, Upc
from launchlink.catalog.schemas import ReleaseRead as ReleaseRead
from launchlink.links.schemas import LinkRead as LinkRead
from launchlink.links.schemas import Slug
from launchlink.models.catalog import ReleaseType

_COUNTRY = re.compile(r"^[A-Z]{2}$")

MatchedBy = Literal["url", "upc", "isrc", "title_artist", "odesli"]
MissingReason = Literal[
    "not_found",
    "connector_unavailable",
    "no_lookup_capability",
    "rate_limited",
    "service_error",
    "timeout",
    "not_allowed",
]
UpcStatus = Literal["found", "not_yet", "unavailable"]
IsrcStatus = Literal["match", "mismatch", "missing", "no_isrc", "unknown"]


def _country(value: str) -> str:
    value = value.strip().upper()
    if not _COUNTRY.match(value):
        raise ValueError("a country is a two-letter ISO 3166 code like 'US'")
    return value


Country = Annotated[str, Field(max_length=8), AfterValidator(_country)]
ServiceUrl = Annotated[str, Field(min_length=1, max_length=2048)]


class _LookupFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: ServiceUrl | None = Field(
        default=None, description="An album or track URL of Spotify, Apple Music, Deezer, ..."
    )
    upc: Upc | None = Field(default=None, description="UPC-A, EAN-13 or GTIN-14 barcode.")
    isrc: Isrc | None = Field(default=None, description="ISRC of a track (for singles).")
    country: Country | None = Field(
        default=None, description="Market/storefront to look in; each service's default if omitted."
    )

    @model_validator(mode="after")
    def _exactly_one_identifier(self) -> Self:
        given = [name for name in ("url", "upc", "isrc") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of url, upc or isrc")
        return self


class ResolveRequest(_LookupFields):
    """What to look up: one service URL, one UPC or one ISRC."""


class AutofillReleaseCreate(_LookupFields):
    """``POST /releases?autofill=true``: the release is read from the services.

    Timing defaults to local midnight of the release date the services report; give
    ``release_mode`` (and its instant/date) to override. ``slug`` defaults to one derived
    from the title, made unique.
    """

    slug: Slug | None = None
    type: ReleaseType | None = Field(default=None, description="Overrides the detected type.")
    label_name: Name | None = None
    release_mode: ReleaseModeName | None = None
    release_instant: AwareDatetime | None = None
    release_date: date | None = None
    time_zone: TimeZone = "UTC"

    @model_validator(mode="after")
    def _timing(self) -> Self:
        if self.release_mode == "global" and self.release_instant is None:
            raise ValueError("release_instant is required when release_mode is 'global'")
        return self


class ResolvedTrackRead(BaseModel):
    position: int
    title: str
    isrc: str | None
    duration_ms: int | None


class ResolvedReleaseRead(BaseModel):
    title: str
    type: ReleaseType
    artists: list[str]
    upc: str | None
    tracks: list[ResolvedTrackRead]
    artwork_url: str | None
    release_date: str | None = Field(description="As the service gives it: YYYY[-MM[-DD]].")
    source: str = Field(description="The service the metadata was read from.")


class FoundDestinationRead(BaseModel):
    service: str = Field(description="Platform key, as used by link destinations.")
    url: str
    matched_by: MatchedBy
    confidence: float | None = Field(
        description="0..1 for title_artist matches (threshold in docs/autofill.md); else null."
    )
    service_id: str | None = None


class MissingServiceRead(BaseModel):
    service: str
    reason: MissingReason
    detail: str


class ResolutionRead(BaseModel):
    release: ResolvedReleaseRead
    destinations: list[FoundDestinationRead]
    missing: list[MissingServiceRead]


class AutofilledReleaseRead(BaseModel):
    release: ReleaseRead
    link: LinkRead
    destinations: list[FoundDestinationRead]
    missing: list[MissingServiceRead]


class ServiceCheckRead(BaseModel):
    service: str
    upc_status: UpcStatus
    detail: str | None = None
    url: str | None = None
    track_count: int | None = None
    is_preorder: bool = False


class TrackCheckRead(BaseModel):
    position: int
    title: str
    isrc: str | None
    services: dict[str, IsrcStatus] = Field(
        description="Per service where the release was found: match, mismatch (another ISRC "
        "at this position), missing, no_isrc (we hold none) or unknown (service gives none)."
    )


class ApplePreaddRead(BaseModel):
    eligible: bool | None = Field(description="null when Apple Music could not be asked.")
    detail: str


class ReleaseChecksRead(BaseModel):
    release_id: str
    checked_at: datetime
    upc: str | None
    services: list[ServiceCheckRead]
    tracks: list[TrackCheckRead]
    apple_preadd: ApplePreaddRead
    issues: list[str] = Field(description="What to fix or wait for, in words.")


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` inlined, to embed in an OpenAPI operation."""
    schema = model.model_json_schema()
    definitions: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return resolve(copy.deepcopy(definitions[reference.removeprefix("#/$defs/")]))
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
