"""JSON API shapes of the pre-save domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from launchlink.kit.text import MultiLine, SingleLine
from launchlink.kit.urls import OperatorUrl
from launchlink.models.presave import ConsentKind, FollowTiming, PresaveState, ServiceMode

ServiceKey = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]
MAX_EXTRA_FOLLOWS = 3


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtraFollow(Strict):
    service: ServiceKey
    kind: Literal["artist", "playlist"]
    id: Annotated[SingleLine, Field(min_length=1, max_length=200)]


class PlaylistAction(Strict):
    mode: Literal["add_to_fan_playlist", "add_to_new_playlist", "follow"]
    service: ServiceKey
    id: Annotated[SingleLine | None, Field(max_length=200)] = None
    """The playlist to follow (mode ``follow``)."""
    name: Annotated[SingleLine | None, Field(max_length=100)] = None
    """The new playlist's name (mode ``add_to_new_playlist``)."""

    @model_validator(mode="after")
    def _needs(self) -> PlaylistAction:
        if self.mode == "follow" and not self.id:
            raise ValueError("a playlist to follow needs its id")
        if self.mode == "add_to_new_playlist" and not self.name:
            raise ValueError("a new playlist needs a name")
        return self


class CampaignSettings(Strict):
    """Everything the pre-save page of one link does (PUT replaces it whole)."""

    enabled: bool = True
    presave_opens_at: datetime | None = Field(
        default=None, description="Before this instant the link is an announce teaser."
    )
    service_modes: dict[ServiceKey, ServiceMode] = Field(
        default_factory=dict, description="Overrides of the workspace's modes, per service."
    )
    link_only_urls: dict[ServiceKey, OperatorUrl] = Field(
        default_factory=dict, description="Pre-order or store links of link-only services."
    )
    save_release: bool = True
    follow_artist_ids: list[UUID] = Field(
        default_factory=list, max_length=10, description="This workspace's artists to follow."
    )
    extra_follows: list[ExtraFollow] = Field(default_factory=list, max_length=MAX_EXTRA_FOLLOWS)
    follow_timing: FollowTiming = FollowTiming.consent
    playlist_action: PlaylistAction | None = None
    apple_preorder_album_id: Annotated[SingleLine | None, Field(max_length=64)] = None
    email_opt_in: bool = Field(
        default=True,
        description="The page asks for an email address, with two unticked boxes: this "
        "release's reminders only (consent kind email_reminder) and marketing (email).",
    )
    sms_opt_in: bool = Field(
        default=False,
        description="The same for a mobile number (sms_reminder and sms), double opt-in.",
    )
    future_releases_opt_in: bool = True
    consent_texts: dict[
        ConsentKind, Annotated[MultiLine, Field(min_length=10, max_length=2000)]
    ] = Field(
        default_factory=dict,
        description="Your own consent wording per kind (email_reminder, email, sms_reminder, "
        "sms, connect_service, future_releases); a changed text becomes a new "
        "version (fans' consents keep pointing at the version they saw).",
    )

    @model_validator(mode="after")
    def _dates_aware(self) -> CampaignSettings:
        if self.presave_opens_at is not None and self.presave_opens_at.tzinfo is None:
            raise ValueError("presave_opens_at needs a time zone (e.g. 2026-03-01T00:00:00Z)")
        return self


class ConsentTextRead(BaseModel):
    id: UUID
    kind: ConsentKind
    version: int
    language: str
    text: str


class ServiceOptionRead(BaseModel):
    service: str
    configured_mode: ServiceMode
    mode: ServiceMode
    fallback: str | None = Field(description="Why the mode differs: unavailable, user_limit.")
    reason: str | None = Field(
        default=None,
        description="When the mode differs: why the configured one cannot finish, naming "
        "what to configure (a missing key, a link the service needs, ...).",
    )


class CampaignRead(BaseModel):
    link_id: UUID
    enabled: bool
    presave_opens_at: datetime | None
    service_modes: dict[str, ServiceMode]
    link_only_urls: dict[str, str]
    save_release: bool
    follow_artist_ids: list[UUID]
    extra_follows: list[ExtraFollow]
    follow_timing: FollowTiming
    playlist_action: PlaylistAction | None
    apple_preorder_album_id: str | None
    email_opt_in: bool
    sms_opt_in: bool
    future_releases_opt_in: bool
    consent_texts: list[ConsentTextRead]
    services: list[ServiceOptionRead] = Field(
        description="What the pre-save page offers right now, after fallbacks."
    )


class WorkspaceModes(Strict):
    modes: dict[ServiceKey, ServiceMode]


class PresaveRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    link_id: UUID
    fan_id: UUID
    service: str
    mode: ServiceMode
    state: PresaveState
    country: str | None
    time_zone: str
    due_at: datetime
    actions: dict[str, Any]
    outcome: dict[str, Any]
    final_reason: str | None
    email_reminder_at: datetime | None = Field(
        description="The fan asked for this release's emails only (no marketing consent)."
    )
    sms_reminder_at: datetime | None = Field(
        description="The fan asked for this release's texts only (no marketing consent)."
    )
    created_at: datetime


class PresavePage(BaseModel):
    items: list[PresaveRead]
    next_cursor: str | None


class PresaveCounts(BaseModel):
    total: int
    by_service: dict[str, int]
    by_country: dict[str, int]
    by_state: dict[str, int]
    oauth_started: int
    oauth_completed: int = Field(description="Started minus completed is the drop-off.")
    oauth_denied: int


class FanLookup(Strict):
    """Find a fan by email, or by a service account (``service`` + ``account_id``)."""

    email: Annotated[SingleLine | None, Field(max_length=320)] = None
    service: ServiceKey | None = None
    account_id: Annotated[SingleLine | None, Field(max_length=200)] = None

    @model_validator(mode="after")
    def _one_key(self) -> FanLookup:
        if not self.email and not (self.service and self.account_id):
            raise ValueError("give an email, or a service and an account_id")
        return self


class FanDeleted(BaseModel):
    fans_deleted: int
    presaves_deleted: int
    grants_deleted: int
