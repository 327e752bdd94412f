"""The pre-save page on the hot path: built from the link snapshot, rendered once per
variant and cached as the parts around its CSRF form fields; each request puts its
browser's token into those fields only (:class:`SlottedPage`), so nothing the operator
wrote (texts, artwork URLs) is ever rewritten per visitor.

The public smart-link app hands over before-release requests of links with a campaign
(:meth:`PresaveFront.serve`). Database reads are limited to the workspace's service modes
and its Spotify grant count (cached for :data:`MODES_TTL_SECONDS`) and the operator's
consent texts (immutable, cached by id).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any, Protocol
from uuid import UUID

from launchlink.connectors.registry import app_client_id
from launchlink.db import Database
from launchlink.links.page import json_ld
from launchlink.links.phase import Phase
from launchlink.links.snapshot import LinkSnapshot
from launchlink.models.presave import ConsentKind, ServiceMode
from launchlink.presave.consent import DEFAULT_TEXTS
from launchlink.presave.inapp import in_app_browser
from launchlink.presave.modes import (
    SPOTIFY,
    CampaignPromise,
    ReleaseKeys,
    ServiceOption,
    resolve_options,
)
from launchlink.presave.page import PRESAVE_PAGE_CSP, OptionView, PresavePages
from launchlink.presave.repository import PresaveRepository
from launchlink.presave.service import PresaveKit, planned_actions, scopes_for
from launchlink.presave.timing import fan_phase, fan_release_instant, fan_zone_name, valid_zone
from launchlink.web.security import (
    BROWSER_COOKIE,
    RESUME_COOKIE,
    TIME_ZONE_COOKIE,
    BadSignature,
    CookieJar,
    new_browser_id,
)

MODES_TTL_SECONDS = 30.0
PAGE_CACHE_SIZE = 2048

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_CSP = PRESAVE_PAGE_CSP

CONTACT_BOXES = ("email_reminder", "email_consent", "sms_reminder", "sms_consent")
"""The page's consent boxes per channel: this release's reminders only, or marketing (the
artist's future releases and news). Never pre-ticked; either one makes its value needed."""


class Visitor(Protocol):
    """The request facts the page needs (``links.public._Request`` fits)."""

    @property
    def user_agent(self) -> str: ...

    @property
    def accept_language(self) -> str | None: ...

    @property
    def cookie(self) -> str | None: ...

    @property
    def client_ip(self) -> str | None: ...

    @property
    def is_head(self) -> bool: ...


def parse_cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header must not break the page
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _own(connectors: object, service: str) -> bool:
    """Whether ``connectors`` (a workspace's) has its own app on ``service``."""
    is_own = getattr(connectors, "is_own", None)
    return bool(is_own(service)) if callable(is_own) else False


class _ModesCache:
    """Workspace modes, and the instance-wide count of Spotify users (the development-mode
    limit is per Spotify app: the instance's serves every workspace without its own), and
    the users of each workspace's own Spotify app (``app_users``)."""

    def __init__(self) -> None:
        self._entries: dict[UUID, tuple[float, dict[str, ServiceMode]]] = {}
        self._spotify_users: tuple[float, int] | None = None
        self._app_users: dict[str, tuple[float, int]] = {}

    async def get(
        self, database: Database, workspace_id: UUID
    ) -> tuple[dict[str, ServiceMode], int]:
        now = time.monotonic()
        found = self._entries.get(workspace_id)
        users = self._spotify_users
        if found is not None and found[0] > now and users is not None and users[0] > now:
            return found[1], users[1]
        async with database.sessionmaker() as session:
            repository = PresaveRepository(session)
            if found is None or found[0] <= now:
                found = (now + MODES_TTL_SECONDS, await repository.workspace_modes(workspace_id))
                self._entries[workspace_id] = found
            if users is None or users[0] <= now:
                users = (now + MODES_TTL_SECONDS, await repository.count_active_accounts(SPOTIFY))
                self._spotify_users = users
        return found[1], users[1]

    async def app_users(self, database: Database, client_id: str) -> int:
        """Spotify users of one workspace's own app (its own development-mode cap)."""
        now = time.monotonic()
        found = self._app_users.get(client_id)
        if found is not None and found[0] > now:
            return found[1]
        async with database.sessionmaker() as session:
            count = await PresaveRepository(session).count_active_accounts(SPOTIFY, client_id)
        self._app_users[client_id] = (now + MODES_TTL_SECONDS, count)
        return count

    def forget(self, workspace_id: UUID) -> None:
        self._entries.pop(workspace_id, None)
        self._spotify_users = None
        self._app_users.clear()


@dataclass(frozen=True, slots=True)
class SlottedPage:
    """A rendered page cut exactly at its CSRF form fields.

    The page is rendered with a random marker as the token (drawn after the operator's data
    was stored, so no text or URL can contain it) and split there; :meth:`fill` joins the
    parts with a browser's token. Any other text, an operator's included, stays as written.
    """

    parts: tuple[bytes, ...]

    @classmethod
    def render(cls, render: Callable[[str], bytes]) -> SlottedPage:
        marker = f"ll-csrf-slot-{secrets.token_hex(16)}"
        return cls(tuple(render(marker).split(marker.encode())))

    def fill(self, token: str) -> bytes:
        return token.encode().join(self.parts)


@dataclass(frozen=True)
class FanView:
    """One visitor's before-release view of a link."""

    language: str
    phase: Phase
    country: str | None
    zone: str
    instant: datetime
    chosen_zone: str | None
    in_app: str | None
    browser_id: str | None
    """From the signed browser cookie; None when absent or not one we issued."""
    resumed_magic_id: str | None
    """The magic link this browser came back with (signed resume cookie, this link)."""


class PresaveFront:
    def __init__(
        self,
        *,
        database: Database,
        kit: PresaveKit,
        pages: PresavePages,
        secure_cookies: bool,
    ) -> None:
        self.database = database
        self.kit = kit
        self.pages = pages
        self.cookies = CookieJar(secure=secure_cookies)
        self._modes = _ModesCache()
        self._texts: dict[str, str] = {}
        self._scopes: dict[tuple[UUID, int, str, ServiceMode], tuple[str, ...]] = {}
        self._cache: OrderedDict[tuple[Any, ...], SlottedPage] = OrderedDict()

    # -- shared by the hot path and the form handlers -----------------------------------

    def view(self, snapshot: LinkSnapshot, visitor: Visitor, country: str | None) -> FanView:
        cookies = parse_cookies(visitor.cookie)
        chosen = valid_zone(cookies.get(TIME_ZONE_COOKIE))
        territories = self.kit.territories
        now = self.kit.clock.now()
        resumed: str | None = None
        resume = cookies.get(RESUME_COOKIE)
        if resume:
            try:
                payload = self.kit.signer.unsign("resume", resume, now=now)
                if payload.get("l") == str(snapshot.link_id) and payload.get("m"):
                    resumed = str(payload["m"])
            except BadSignature:
                resumed = None
        return FanView(
            language=self.pages.translations.negotiate(
                visitor.accept_language, snapshot.base_language
            ),
            phase=fan_phase(
                snapshot.timing,
                country=country,
                now=now,
                territories=territories,
                chosen_zone=chosen,
            ),
            country=country,
            zone=fan_zone_name(snapshot.timing, country, territories, chosen),
            instant=fan_release_instant(snapshot.timing, country, territories, chosen),
            chosen_zone=chosen,
            in_app=in_app_browser(visitor.user_agent),
            browser_id=self.kit.signer.browser_id_of(cookies.get(BROWSER_COOKIE)),
            resumed_magic_id=resumed,
        )

    async def options(self, snapshot: LinkSnapshot) -> list[ServiceOption]:
        campaign = snapshot.campaign
        if campaign is None:
            return []
        modes, spotify_grants = await self._modes.get(self.database, snapshot.workspace_id)
        connectors = await self.kit.connectors_for(snapshot.workspace_id)
        own_spotify = app_client_id(connectors.get(SPOTIFY)) if _own(connectors, SPOTIFY) else None
        if own_spotify is not None:
            spotify_grants = await self._modes.app_users(self.database, own_spotify)
        destination_urls = {d.service: d.url for d in snapshot.destinations}
        return resolve_options(
            [*destination_urls, *campaign.service_modes, *campaign.link_only_urls],
            campaign_modes=campaign.service_modes,
            workspace_modes=modes,
            link_urls={**destination_urls, **campaign.link_only_urls},
            connectors=connectors,
            has_preorder=bool(campaign.apple_preorder_album_id),
            active_spotify_grants=spotify_grants,
            release=ReleaseKeys(
                upc=snapshot.upc,
                isrcs=tuple(t.isrc for t in snapshot.tracks if t.isrc),
                urls=destination_urls,
            ),
            promise=CampaignPromise.of(campaign),
        )

    def grants_changed(self, workspace_id: UUID) -> None:
        """A grant was added or revoked: the (instance-wide) Spotify user count may have
        moved. Other processes see it within :data:`MODES_TTL_SECONDS`."""
        self._modes.forget(workspace_id)

    async def consent_texts(self, snapshot: LinkSnapshot, language: str) -> dict[str, str]:
        campaign = snapshot.campaign
        configured = campaign.consent_text_ids if campaign is not None else {}
        texts: dict[str, str] = {}
        for kind in ConsentKind:
            text_id = configured.get(kind.value)
            text = self._texts.get(text_id) if text_id else None
            if text_id and text is None:
                async with self.database.sessionmaker() as session:
                    row = await PresaveRepository(session).consent_text(UUID(text_id))
                if row is not None:
                    text = self._texts[text_id] = row.text
            texts[kind.value] = text or self.pages.gettext(language, DEFAULT_TEXTS[kind])
        return texts

    async def scope_lines(
        self, snapshot: LinkSnapshot, options: Sequence[ServiceOption], language: str
    ) -> dict[str, tuple[str, ...]]:
        """Per connecting service, the scopes the sign-in will ask for, in plain words.

        Computed from the same planned actions as the OAuth request (so the page lists
        exactly what is asked), once per link version and service.
        """
        lines: dict[str, tuple[str, ...]] = {}
        connectors = await self.kit.connectors_for(snapshot.workspace_id)
        missing = [
            o
            for o in options
            if o.connects
            and (snapshot.link_id, snapshot.version, o.service, o.mode) not in self._scopes
        ]
        if missing:
            async with self.database.sessionmaker() as session:
                campaign = await PresaveRepository(session).campaign(snapshot.link_id)
                for option in missing:
                    connector = connectors.get(option.service)
                    scopes: tuple[str, ...] = ()
                    if connector is not None and campaign is not None:
                        actions = await planned_actions(
                            session,
                            campaign,
                            option.service,
                            option.mode,
                            connector=connector,
                            release_title=snapshot.release_title,
                        )
                        scopes = tuple(scopes_for(connector, actions))
                    if len(self._scopes) > PAGE_CACHE_SIZE:
                        self._scopes.clear()
                    self._scopes[
                        (snapshot.link_id, snapshot.version, option.service, option.mode)
                    ] = scopes
        for option in options:
            connector = connectors.get(option.service)
            scopes = self._scopes.get(
                (snapshot.link_id, snapshot.version, option.service, option.mode), ()
            )
            if connector is None or not option.connects:
                continue
            lines[option.service] = tuple(
                self.pages.gettext(language, connector.describe_scope(scope)) for scope in scopes
            )
        return lines

    async def page_body(
        self,
        snapshot: LinkSnapshot,
        view: FanView,
        *,
        errors: Sequence[str] = (),
        values: Mapping[str, Any] | None = None,
    ) -> SlottedPage:
        """The page, cut at its CSRF fields; cached unless it carries errors or values."""
        options = await self.options(snapshot) if view.phase is Phase.PRESAVE else []
        signature = tuple((o.service, o.mode, o.fallback) for o in options)
        now = self.kit.clock.now()
        moment = self.pages.moment_context(view.instant, view.zone, view.language, now)
        key = (
            snapshot.link_id,
            snapshot.version,
            view.language,
            view.phase,
            view.zone,
            view.instant,
            moment["countdown"],
            view.in_app,
            view.resumed_magic_id is not None,
            signature,
        )
        cacheable = not errors and not values
        if cacheable and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        campaign = snapshot.campaign
        context = self.pages.release_context(snapshot, view.language)
        context.update(moment)
        opens_text = ""
        if campaign is not None and campaign.presave_opens_at is not None:
            opens_text = self.pages.moment_context(
                campaign.presave_opens_at, view.zone, view.language, now
            )["release_moment_text"]
        description = self._description(context, moment, view, opens_text)
        scopes = await self.scope_lines(snapshot, options, view.language)
        views: list[OptionView] = [
            self.pages.option_view(o, scopes.get(o.service, ())) for o in options
        ]
        context.update(
            phase=view.phase.value,
            opens_text=opens_text,
            options=views,
            connect_options=any(o.connects for o in options),
            consent_texts=await self.consent_texts(snapshot, view.language),
            email_opt_in=campaign.email_opt_in if campaign else True,
            sms_opt_in=campaign.sms_opt_in if campaign else False,
            future_opt_in=campaign.future_releases_opt_in if campaign else False,
            in_app=view.in_app,
            resumed=view.resumed_magic_id is not None,
            description=description,
            errors=list(errors),
            values=dict(values or {}),
            # The same Open Graph / Twitter card and JSON-LD as the smart link: a shared
            # pre-save link previews with its cover, and search engines may index it.
            page_title=f"{context['title']} – {context['artists_text']}",
            og_type="music.song" if snapshot.release_type == "single" else "music.album",
            json_ld=json_ld(snapshot, context["artwork_url"]),
        )
        for name, empty in (
            ("email", ""),
            ("phone", ""),
            *((box, False) for box in CONTACT_BOXES),
            ("future_consent", False),
        ):
            context["values"].setdefault(name, empty)
        page = SlottedPage.render(
            lambda csrf: self.pages.render(
                "presave/page.html", view.language, {**context, "csrf": csrf}
            )
        )
        if cacheable:
            self._cache[key] = page
            if len(self._cache) > PAGE_CACHE_SIZE:
                self._cache.popitem(last=False)
        return page

    def _description(
        self, release: Mapping[str, Any], moment: Mapping[str, Any], view: FanView, opens: str
    ) -> str:
        """The meta description: what the page offers in this phase, and when."""
        _ = self.pages.translations.get(view.language).gettext
        facts = {
            "title": release["title"],
            "artists": release["artists_text"],
            "moment": moment["release_moment_text"],
        }
        if view.phase is Phase.PRESAVE:
            return _("Pre-save %(title)s by %(artists)s now. Out %(moment)s.") % facts
        text = _("%(title)s by %(artists)s is out %(moment)s.") % facts
        if opens:
            text += " " + _("Pre-saves open %(moment)s.") % {"moment": opens}
        return text

    def csrf(self, view: FanView) -> tuple[str, list[str]]:
        """This browser's CSRF token, and the cookie to set when it has no (valid) browser
        cookie yet: the token is bound to the id in it."""
        set_cookies: list[str] = []
        browser_id = view.browser_id
        if not browser_id:
            browser_id = new_browser_id()
            set_cookies.append(
                self.cookies.set(BROWSER_COOKIE, self.kit.signer.browser_cookie(browser_id))
            )
        return self.kit.signer.csrf_token(browser_id), set_cookies

    def personalise(self, page: SlottedPage, view: FanView) -> tuple[bytes, list[str]]:
        """The cached page with this browser's CSRF token in its form fields."""
        token, set_cookies = self.csrf(view)
        return page.fill(token), set_cookies

    def headers(
        self, body: bytes, language: str, set_cookies: Sequence[str]
    ) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"private, no-store"),
            (b"content-security-policy", _CSP.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"content-language", language.encode("ascii")),
        ]
        headers.extend((b"set-cookie", cookie.encode("latin-1")) for cookie in set_cookies)
        return headers

    # -- the hot path hook ---------------------------------------------------------------

    async def serve(
        self, visitor: Visitor, snapshot: LinkSnapshot, country: str | None, send: Send
    ) -> bool:
        """Serve the pre-save or announce page; False when the link is live for this fan
        (their chosen time zone is past the release) so the smart link should answer."""
        campaign = snapshot.campaign
        if campaign is None or not campaign.enabled:
            return False
        view = self.view(snapshot, visitor, country)
        if view.phase is Phase.LIVE:
            return False
        body, cookies = self.personalise(await self.page_body(snapshot, view), view)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": self.headers(body, view.language, cookies),
            }
        )
        await send({"type": "http.response.body", "body": b"" if visitor.is_head else body})
        return True
