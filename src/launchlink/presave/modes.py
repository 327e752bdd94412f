"""Which action each service offers on a pre-save page, and why: offer only what can finish.

The operator picks a :class:`ServiceMode` per service for the workspace; a campaign may
override it. :func:`can_finish` then decides whether that mode can run to its end with the
configuration in force, and when it cannot, says why in words that name what to configure.
The pre-save page, the campaign API, ``GET /api/v1/services``, ``launchlink services`` and
the fulfilment engine all ask it (the engine asks :func:`configuration_problem`, its part
that still matters once a fan has signed in). A mode that cannot finish is not offered:

* a service whose connector is missing, or lacks credentials or keys (Apple Music's
  private key, key id, team id), falls back to ``reminder``;
* so does a service that cannot find this release: Spotify, Apple Music, Deezer and TIDAL
  look it up by UPC or ISRC; SoundCloud and YouTube, which have no such search, by the link
  to it (a destination of the link; YouTube also needs its API key to read it);
* so does a service that cannot do something the campaign promises there (follow a
  playlist on YouTube, add to a playlist on SoundCloud);
* Spotify in development mode serves 5 users at most per Spotify app (client id). The
  instance's app serves every workspace that did not bring its own, so once 5 distinct
  Spotify accounts hold active grants anywhere on the instance, Spotify falls back to
  ``reminder`` on those workspaces; a workspace with its own app counts its app's users;
* a workspace's own app the service refused (``invalid_client``) makes that service
  unconfigured on that workspace's pages (``launchlink.integrations.apps``);
* ``preadd`` exists only for Apple Music with a pre-order album id; without one it is a
  ``direct_save`` (the Music-User-Token is kept and the album saved at release).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol
from uuid import UUID

from launchlink.connectors.base import SERVICES as CONNECTOR_SERVICES
from launchlink.connectors.base import Capability, Connector
from launchlink.connectors.registry import ConnectorRegistry
from launchlink.models.presave import ServiceMode
from launchlink.platforms import PLATFORMS

SPOTIFY_DEVELOPMENT_USER_LIMIT = 5
APPLE_MUSIC = "apple_music"
SPOTIFY = "spotify"

FallbackReason = Literal["unavailable", "user_limit"]
"""What the page tells the fan (``user_limit`` has its own wording, the rest one sentence)."""

SIGNS_IN_THROUGH: Mapping[str, str] = {"youtube_music": "youtube"}
"""Platforms whose fans sign in to another service's connector (YouTube Music: YouTube);
the connector also finds releases from those platforms' links."""

_DOING: Mapping[Capability, str] = {
    Capability.SAVE_RELEASE: "save releases",
    Capability.SAVE_TRACKS: "save tracks",
    Capability.FOLLOW_ARTIST: "follow artists",
    Capability.PLAYLIST_FOLLOW: "follow playlists",
    Capability.PLAYLIST_ADD: "add tracks to playlists",
    Capability.PLAYLIST_READ: "list a fan's playlists",
    Capability.PREADD: "pre-add releases",
}


class ConnectorSource(Protocol):
    """The connectors the instance has (``launchlink.connectors.registry`` fits this)."""

    def get(self, service: str) -> Connector | None: ...


class WorkspaceConnectors(Protocol):
    """Per workspace, the connectors its pre-saves use: its own service apps over the
    instance's (``launchlink.integrations.apps.WorkspaceApps`` fits this)."""

    async def source(self, workspace_id: UUID | None) -> ConnectorSource: ...

    def forget(self, workspace_id: UUID) -> None: ...

    async def reject(self, workspace_id: UUID, connector: Connector, reason: str) -> bool: ...

    async def aclose(self) -> None: ...


class ConnectorMap(dict[str, Connector]):
    """A plain mapping of service key → connector, for start-up wiring and tests."""


class Refusal(StrEnum):
    """Why a mode cannot finish; each comes with a reason naming what to do about it."""

    off = "off"
    no_link = "no_link"
    """``link_only`` without a link to send the fan to."""
    no_connector = "no_connector"
    """launchlink has no API to act on a fan's library there."""
    unconfigured = "unconfigured"
    """Credentials or keys are missing or unusable."""
    cannot_sign_in = "cannot_sign_in"
    no_lookup_path = "no_lookup_path"
    """The release cannot be found on the service (no UPC/ISRC lookup, no usable link)."""
    not_capable = "not_capable"
    """The service cannot do something the campaign promises there."""
    no_preorder = "no_preorder"
    user_limit = "user_limit"
    """Spotify's development-mode cap of 5 users is reached."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """:func:`can_finish`'s answer: OK (``refusal`` None) or a permanent refusal."""

    refusal: Refusal | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


CAN_FINISH = Verdict()


@dataclass(frozen=True, slots=True)
class ReleaseKeys:
    """What a release can be found by: barcode, tracks' ISRCs, its links (platform → URL).

    ``identified`` False means the barcode and ISRCs are not known to the caller (only the
    links are): lookups by UPC/ISRC are then assumed possible rather than refused.
    """

    upc: str | None = None
    isrcs: tuple[str, ...] = ()
    urls: Mapping[str, str] = field(default_factory=dict)
    identified: bool = True


@dataclass(frozen=True, slots=True)
class CampaignPromise:
    """What a campaign promises a fan, as far as capabilities go (see :meth:`needs`)."""

    save_release: bool = True
    follows_artists: bool = False
    playlist_action: Mapping[str, Any] | None = None
    extra_follows: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, campaign: Any) -> CampaignPromise:
        """From a ``Campaign`` row or the page's ``CampaignView`` (the same fields)."""
        artists = getattr(campaign, "follow_artist_ids", None)
        # A row counts follows as its page view does (links/snapshots.py: campaign_view).
        follows = campaign.follows if artists is None else artists or campaign.extra_follows
        return cls(
            save_release=bool(campaign.save_release),
            follows_artists=bool(follows),
            playlist_action=campaign.playlist_action or None,
            extra_follows=tuple(e for e in campaign.extra_follows or () if isinstance(e, dict)),
        )

    def needs(self, service: str) -> frozenset[Capability]:
        """The capabilities ``service`` must have for every promise made there."""
        needed: set[Capability] = set()
        if self.save_release:
            needed.add(Capability.SAVE_RELEASE)
        if self.follows_artists:
            needed.add(Capability.FOLLOW_ARTIST)
        for extra in self.extra_follows:
            if extra.get("service") == service:
                kind = extra.get("kind")
                needed.add(
                    Capability.PLAYLIST_FOLLOW if kind == "playlist" else Capability.FOLLOW_ARTIST
                )
        action = self.playlist_action or {}
        if action.get("service") == service:
            if action.get("mode") == "follow":
                needed.add(Capability.PLAYLIST_FOLLOW)
            elif action.get("mode") in ("add_to_fan_playlist", "add_to_new_playlist"):
                needed.add(Capability.PLAYLIST_ADD)
        return frozenset(needed)


@dataclass(frozen=True, slots=True)
class ServiceOption:
    """One service on the pre-save page."""

    service: str
    configured: ServiceMode
    mode: ServiceMode
    fallback: FallbackReason | None = None
    url: str | None = None
    """For link-only services: the pre-order or store link."""
    reason: str | None = None
    """Why ``mode`` differs from ``configured``, for the operator (names what to set)."""

    @property
    def connects(self) -> bool:
        """The fan signs in to this service now (OAuth or MusicKit)."""
        return self.mode in (ServiceMode.direct_save, ServiceMode.preadd)


def display_name(service: str) -> str:
    platform = PLATFORMS.get(service)
    return platform.display_name if platform is not None else service


def default_mode(service: str, *, has_preorder: bool) -> ServiceMode:
    if service == APPLE_MUSIC and has_preorder:
        return ServiceMode.preadd
    if service in CONNECTOR_SERVICES:
        return ServiceMode.direct_save
    return ServiceMode.link_only


def configured_mode(
    service: str,
    *,
    campaign_modes: Mapping[str, object],
    workspace_modes: Mapping[str, ServiceMode],
    has_preorder: bool,
) -> ServiceMode:
    chosen = campaign_modes.get(service)
    if isinstance(chosen, str) and chosen in ServiceMode.__members__:
        return ServiceMode(chosen)
    if service in workspace_modes:
        return workspace_modes[service]
    return default_mode(service, has_preorder=has_preorder)


# -- the decision ---------------------------------------------------------------------------


def _has(connector: Connector, capability: Capability) -> bool:
    if capability is Capability.SAVE_RELEASE:
        # YouTube saves a release by liking its tracks (save_tracks without save_release).
        return bool({Capability.SAVE_RELEASE, Capability.SAVE_TRACKS} & connector.capabilities)
    return capability in connector.capabilities


def release_link(connector: Connector, keys: ReleaseKeys) -> str | None:
    """The release's own link on ``connector``'s service, if the link has one it can read."""
    others = [key for key, through in SIGNS_IN_THROUGH.items() if through == connector.service]
    for platform in (connector.service, *others):
        url = keys.urls.get(platform)
        if url and connector.recognises_release_url(url):
            return url
    return None


def lookup_path(connector: Connector, keys: ReleaseKeys) -> Literal["upc", "isrc", "url"] | None:
    """How the engine will find the release on this service, in the order it tries."""
    capabilities = connector.capabilities
    if Capability.LOOKUP_UPC in capabilities and (keys.upc or not keys.identified):
        return "upc"
    if Capability.LOOKUP_ISRC in capabilities and (keys.isrcs or not keys.identified):
        return "isrc"
    if Capability.LOOKUP_URL in capabilities and release_link(connector, keys) is not None:
        return "url"
    return None


def lookup_requirement(connector: Connector) -> str | None:
    """What a release needs so this service can find it, in words; ``None`` when it never can."""
    name = display_name(connector.service)
    ways = []
    if Capability.LOOKUP_UPC in connector.capabilities:
        ways.append("the release's UPC")
    if Capability.LOOKUP_ISRC in connector.capabilities:
        ways.append("an ISRC of its tracks")
    if Capability.LOOKUP_URL in connector.capabilities:
        ways.append(f"the release's {name} link among the link's destinations")
    if not ways:
        return None
    return ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else ways[0]


def _no_lookup(connector: Connector) -> Verdict:
    name = display_name(connector.service)
    gap = connector.capability_gap(Capability.LOOKUP_URL)
    if gap is not None:
        return Verdict(Refusal.unconfigured, f"{name} cannot find releases: {gap}")
    return Verdict(Refusal.no_lookup_path, f"{name} offers no way to look a release up")


def configuration_problem(
    connector: Connector | None, service: str, release: ReleaseKeys | None = None
) -> Verdict:
    """Whether the engine can do its part on ``service``: the connector is configured and
    the release can be found (``release`` None: whether any release could be)."""
    name = display_name(service)
    if connector is None:
        return Verdict(Refusal.no_connector, f"{name} has no API to act on a fan's library")
    if not connector.available:
        return Verdict(
            Refusal.unconfigured, connector.unavailable_reason or f"{name} is not configured"
        )
    needed = lookup_requirement(connector)
    if needed is None:
        return _no_lookup(connector)
    if release is not None and lookup_path(connector, release) is None:
        return Verdict(
            Refusal.no_lookup_path, f"{name} cannot find this release: it needs {needed}"
        )
    return CAN_FINISH


def _can_sign_in(connector: Connector) -> bool:
    if connector.service == APPLE_MUSIC:
        return True  # MusicKit JS with our developer token, no OAuth capability
    return Capability.OAUTH in connector.capabilities


def can_finish(
    service: str,
    mode: ServiceMode,
    *,
    connector: Connector | None,
    release: ReleaseKeys | None = None,
    needs: Iterable[Capability] = (),
    has_preorder: bool = False,
    active_spotify_grants: int = 0,
) -> Verdict:
    """Can ``mode`` on ``service`` run to its end with the configuration in force?

    ``release`` says how the release can be found (``None``: not known yet, only what
    holds for any release is checked); ``needs`` are the capabilities the campaign's
    promises take there (:meth:`CampaignPromise.needs`). The answer is OK, or a permanent
    refusal whose reason names what to configure.
    """
    name = display_name(service)
    if mode is ServiceMode.off:
        return Verdict(Refusal.off, f"{name} is switched off for this campaign")
    if mode is ServiceMode.reminder:
        return CAN_FINISH
    if mode is ServiceMode.link_only:
        if release is not None and not release.urls.get(service):
            return Verdict(Refusal.no_link, f"the campaign has no {name} link to send fans to")
        return CAN_FINISH
    problem = configuration_problem(connector, service, release)
    if not problem.ok:
        return problem
    assert connector is not None
    if not _can_sign_in(connector):
        return Verdict(Refusal.cannot_sign_in, f"{name} has no way for fans to sign in")
    if mode is ServiceMode.preadd:
        if Capability.PREADD not in connector.capabilities:
            return Verdict(Refusal.not_capable, f"{name} has no native pre-add")
        if not has_preorder:
            return Verdict(
                Refusal.no_preorder, "a pre-add needs the campaign's apple_preorder_album_id"
            )
    missing = sorted(need for need in set(needs) if not _has(connector, need))
    if missing:
        doing = " or ".join(_DOING.get(need, need.value) for need in missing)
        return Verdict(
            Refusal.not_capable, f"{name} cannot {doing}, which this campaign promises there"
        )
    if (
        service == SPOTIFY
        and connector.mode == "development"
        and active_spotify_grants >= SPOTIFY_DEVELOPMENT_USER_LIMIT
    ):
        return Verdict(
            Refusal.user_limit,
            f"the Spotify app is in development mode and {SPOTIFY_DEVELOPMENT_USER_LIMIT} "
            "Spotify accounts already hold grants (Spotify's limit for unapproved apps)",
        )
    return CAN_FINISH


# -- what the page offers -------------------------------------------------------------------


def resolve_option(
    service: str,
    configured: ServiceMode,
    *,
    connector: Connector | None,
    has_preorder: bool,
    active_spotify_grants: int,
    url: str | None,
    release: ReleaseKeys | None = None,
    needs: Iterable[Capability] = (),
) -> ServiceOption | None:
    """The effective option for one service, or None when it is not offered at all.

    ``release`` defaults to "only the link ``url`` is known" (barcode and ISRCs unchecked).
    """
    if configured is ServiceMode.off:
        return None
    if configured is ServiceMode.link_only:
        return ServiceOption(service, configured, configured, url=url) if url else None
    if configured is ServiceMode.reminder:
        return ServiceOption(service, configured, configured, url=url)
    mode = configured
    if mode is ServiceMode.preadd and not (service == APPLE_MUSIC and has_preorder):
        mode = ServiceMode.direct_save
    if release is None:
        release = ReleaseKeys(urls={service: url} if url else {}, identified=False)
    verdict = can_finish(
        service,
        mode,
        connector=connector,
        release=release,
        needs=needs,
        has_preorder=has_preorder,
        active_spotify_grants=active_spotify_grants,
    )
    if verdict.ok:
        return ServiceOption(service, configured, mode, url=url)
    fallback: FallbackReason = (
        "user_limit" if verdict.refusal is Refusal.user_limit else "unavailable"
    )
    return ServiceOption(
        service, configured, ServiceMode.reminder, fallback, url=url, reason=verdict.reason
    )


def resolve_options(
    services: Iterable[str],
    *,
    campaign_modes: Mapping[str, object],
    workspace_modes: Mapping[str, ServiceMode],
    link_urls: Mapping[str, str],
    connectors: ConnectorSource,
    has_preorder: bool,
    active_spotify_grants: int,
    release: ReleaseKeys | None = None,
    promise: CampaignPromise | None = None,
) -> list[ServiceOption]:
    """What the page offers for each service, in order, after fallbacks.

    ``release``: how the release can be found — barcode, ISRCs and the link's destinations
    (the engine finds it from those; pre-order links in ``link_urls`` only send fans
    somewhere); ``None`` checks ``link_urls`` only. ``promise``: what the campaign
    promises, so a service that cannot keep a promise is not offered.
    """
    keys = release if release is not None else ReleaseKeys(urls=link_urls, identified=False)
    options: list[ServiceOption] = []
    for service in dict.fromkeys(services):
        configured = configured_mode(
            service,
            campaign_modes=campaign_modes,
            workspace_modes=workspace_modes,
            has_preorder=has_preorder,
        )
        option = resolve_option(
            service,
            configured,
            connector=connectors.get(service),
            has_preorder=has_preorder,
            active_spotify_grants=active_spotify_grants,
            url=link_urls.get(service),
            release=keys,
            needs=promise.needs(service) if promise is not None else (),
        )
        if option is not None:
            options.append(option)
    return options


class RegistrySource:
    """Adapts ``ConnectorRegistry`` (``KeyError`` for unknown services) to ConnectorSource."""

    def __init__(self, registry: ConnectorRegistry) -> None:
        self.registry = registry

    def get(self, service: str) -> Connector | None:
        try:
            return self.registry.get(service)
        except KeyError:
            return None

    def with_app(
        self, service: str, client_id: str, secret: str, extra: dict[str, str] | None = None
    ) -> Connector:
        """``ConnectorRegistry.with_app`` of the registry in place now (a reconfigured
        instance builds workspaces' apps from its new settings)."""
        return self.registry.with_app(service, client_id, secret, extra)


# -- what an instance can offer, whatever the campaign ---------------------------------------

OFFERED_MODES = (
    ServiceMode.direct_save,
    ServiceMode.preadd,
    ServiceMode.reminder,
    ServiceMode.link_only,
)


@dataclass(frozen=True, slots=True)
class ModeOffer:
    """Whether this instance can offer ``mode`` on a service, and what a campaign needs."""

    mode: ServiceMode
    offered: bool
    reason: str | None = None
    """Why not, naming what to configure."""
    requires: str | None = None
    """What each release or campaign must provide for the mode to be offered there."""


def mode_offers(
    service: str,
    connector: Connector | None,
    *,
    active_spotify_grants: int = 0,
    through: str | None = None,
) -> list[ModeOffer]:
    """:func:`can_finish` for every mode of ``service`` with this instance's configuration
    (any release; a campaign that saves the release). ``through`` names the service whose
    connector fans sign in to instead (YouTube Music → ``youtube``)."""
    offers: list[ModeOffer] = []
    for mode in OFFERED_MODES:
        requires: str | None = None
        if mode is ServiceMode.link_only:
            requires = f"the {display_name(service)} link (a destination or link_only_urls)"
        elif mode in (ServiceMode.direct_save, ServiceMode.preadd) and through is not None:
            offers.append(
                ModeOffer(
                    mode,
                    False,
                    f"{display_name(service)} pre-saves are made on {display_name(through)} "
                    f"(service {through!r})",
                )
            )
            continue
        elif mode in (ServiceMode.direct_save, ServiceMode.preadd) and connector is not None:
            requires = lookup_requirement(connector)
            if mode is ServiceMode.preadd:
                requires = f"{requires}, and the campaign's apple_preorder_album_id"
        verdict = can_finish(
            service,
            mode,
            connector=connector,
            needs=(Capability.SAVE_RELEASE,),
            has_preorder=True,
            active_spotify_grants=active_spotify_grants,
        )
        offers.append(ModeOffer(mode, verdict.ok, verdict.reason, requires if verdict.ok else None))
    return offers


@dataclass(frozen=True, slots=True)
class ServiceOffers:
    """One service of the platform registry on this instance: its connector and modes."""

    service: str
    connector: Connector | None
    modes: list[ModeOffer]


def instance_offers(
    connectors: ConnectorSource | None, *, active_spotify_grants: int = 0
) -> list[ServiceOffers]:
    """:func:`mode_offers` for every service launchlink knows, in display order."""
    found: list[ServiceOffers] = []
    for key in PLATFORMS:
        through = SIGNS_IN_THROUGH.get(key)
        connector = connectors.get(through or key) if connectors is not None else None
        offers = mode_offers(
            key,
            None if through else connector,
            active_spotify_grants=active_spotify_grants,
            through=through,
        )
        found.append(ServiceOffers(key, connector, offers))
    return found
