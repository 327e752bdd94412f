"""Fan-facing pre-save routes (Starlette): forms, the OAuth callback, confirmation,
calendar, time zone, magic links, address confirmation (double opt-in) and revoke.

Every POST form carries a CSRF token bound to the signed browser cookie and is refused
without it; the one exception is RFC 8058's one-click unsubscribe, whose signed URL is the
proof. Nothing is half-saved: input is validated before the unit of work starts, and each
unit of work commits whole or not at all.

Who a fan is comes only from what they proved (docs/presave.md, "Identity"): a typed
address never finds, joins or shows an existing fan; pages reached by a link we showed on
screen are bound to the browser that made the pre-saves on them.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit
from uuid import UUID

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from launchlink.connectors.apple_music.connector import AppleMusicConnector
from launchlink.connectors.base import Capability, PlaylistInfo, TokenSet, run_with_refresh
from launchlink.connectors.errors import ConnectorError, NotAllowed
from launchlink.connectors.oauth import new_pkce_pair
from launchlink.db import Database
from launchlink.design.artwork import MEDIA_PREFIX, ArtworkStore
from launchlink.design.story import StoryCache, StoryText, story_png
from launchlink.errors import LaunchlinkError
from launchlink.links.phase import Phase
from launchlink.links.snapshot import LinkSnapshot, SnapshotSource
from launchlink.models import Link, Presave, ServiceGrant
from launchlink.models.presave import ContactPurpose, ServiceMode
from launchlink.presave import service as presave_service
from launchlink.presave.consent import hash_ip
from launchlink.presave.errors import (
    AlreadyConfirmed,
    ConnectFailed,
    ForeignBrowser,
    InvalidContact,
    LinkExpired,
    LinkInvalid,
    NotBeforeRelease,
    OAuthStateRefused,
    ServiceNotOffered,
    TokensGone,
)
from launchlink.presave.front import CONTACT_BOXES, FanView, PresaveFront, parse_cookies
from launchlink.presave.ics import release_event
from launchlink.presave.modes import APPLE_MUSIC, ServiceOption
from launchlink.presave.page import PRESAVE_PAGE_CSP, zone_groups
from launchlink.presave.ratelimit import (
    ADDRESS_POSTS,
    BROWSER_POSTS,
    CONFIRMATION_EMAILS,
    MAGIC_LINK_EMAILS,
    FormRateLimiter,
    Hit,
    RateLimit,
    RateLimited,
    client_address,
)
from launchlink.presave.repository import PresaveRepository
from launchlink.presave.service import FanChoices, PendingStart
from launchlink.presave.timing import fan_release_instant, valid_zone
from launchlink.web.security import (
    BROWSER_COOKIE,
    ONE_CLICK_FIELD,
    ONE_CLICK_VALUE,
    RESUME_COOKIE,
    TIME_ZONE_COOKIE,
    security_headers,
)

if TYPE_CHECKING:
    from launchlink.analytics.capture import AnalyticsCapture

logger = logging.getLogger(__name__)

MAX_FORM_BYTES = 16_384
RESUME_LIFETIME = timedelta(hours=2)
CALLBACK_PATH = "/presave/oauth/callback"
PLAYLIST_CHOICES = 50


class CountryLookup:
    """``launchlink.kit.geo.CountryDetector``'s shape (headers, client IP → country)."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector

    def country(self, request: Request) -> str | None:
        if self.detector is None:
            return None
        client = request.client.host if request.client else None
        found: str | None = self.detector.country(request.scope.get("headers") or [], client)
        return found


@dataclass(frozen=True)
class RequestVisitor:
    """A Starlette request seen as :class:`launchlink.presave.front.Visitor`."""

    user_agent: str
    accept_language: str | None
    cookie: str | None
    client_ip: str | None
    is_head: bool = False

    @classmethod
    def of(cls, request: Request) -> RequestVisitor:
        return cls(
            user_agent=request.headers.get("user-agent", ""),
            accept_language=request.headers.get("accept-language"),
            cookie=request.headers.get("cookie"),
            client_ip=request.client.host if request.client else None,
            is_head=request.method == "HEAD",
        )


class _Refused(Exception):
    """A fan-facing failure rendered as a page with ``status``."""

    def __init__(self, status: int, heading: str, *paragraphs: str) -> None:
        super().__init__(heading)
        self.status = status
        self.heading = heading
        self.paragraphs = paragraphs


Handler = Callable[[Request], Awaitable[Response]]


class PresaveWeb:
    def __init__(
        self,
        *,
        front: PresaveFront,
        source: SnapshotSource,
        database: Database,
        countries: Any,
        deliver: Callable[[], Awaitable[None]] | None = None,
        public_url: str,
        apple_authorize_url: str | None = None,
        platform_host: str = "",
        trusted_proxies: Sequence[str] = (),
        limiter: FormRateLimiter | None = None,
        artwork: ArtworkStore | None = None,
    ) -> None:
        self.front = front
        self.kit = front.kit
        self.pages = front.pages
        self.source = source
        self.database = database
        # Messaging's emails are outbox subscribers; delivering right after the commit
        # keeps them as quick as before, and a process gone meanwhile loses none of them.
        self.deliver = deliver or _nothing
        self.countries = CountryLookup(countries)
        self.public_url = public_url.rstrip("/")
        self.callback_url = self.public_url + CALLBACK_PATH
        self.apple_authorize_url = apple_authorize_url
        self.platform_host = platform_host
        self.trusted_proxies = tuple(trusted_proxies)
        self.limiter = limiter or FormRateLimiter(database, self.kit.clock, self.kit.secret_key)
        self.artwork = artwork
        """Artwork we stored (drawn into the Stories image; a CDN's is never fetched)."""
        self.stories = StoryCache()
        self.capture: AnalyticsCapture | None = None
        """The analytics buffer (set by the app): the pre-save funnel's steps."""

    def routes(self) -> list[BaseRoute]:
        return [
            Route(CALLBACK_PATH, self._guard(self.callback), methods=["GET"]),
            Route("/presave/oauth/apple", self._guard(self.apple_token), methods=["POST"]),
            Route("/presave/magic/{token}", self._guard(self.magic), methods=["GET"]),
            Route("/presave/{slug}/connect", self._guard(self.connect), methods=["POST"]),
            Route("/presave/{slug}/remind", self._guard(self.remind), methods=["POST"]),
            Route("/presave/{slug}/later", self._guard(self.later), methods=["POST"]),
            Route("/presave/{slug}/apple", self._guard(self.apple_page), methods=["GET"]),
            Route("/presave/{slug}/done", self._guard(self.done), methods=["GET"]),
            Route("/presave/{slug}/playlist", self._guard(self.playlist), methods=["GET", "POST"]),
            Route("/presave/{slug}/calendar.ics", self._guard(self.calendar), methods=["GET"]),
            Route("/presave/{slug}/story.png", self._guard(self.story), methods=["GET"]),
            Route("/presave/{slug}/timezone", self._guard(self.timezone), methods=["GET", "POST"]),
            # After the /presave/{slug}/... routes: a link slugged "confirm" keeps its pages
            # (a random token is never "done" or "connect").
            Route("/presave/confirm/{token}", self._guard(self.confirm), methods=["GET", "POST"]),
            Route("/revoke/{token}", self._guard(self.revoke), methods=["GET", "POST"]),
            Route(
                "/presave/unsubscribe/{token}",
                self._guard(self.unsubscribe),
                methods=["GET", "POST"],
            ),
        ]

    # -- plumbing ------------------------------------------------------------------------

    def _track(
        self, kind: Any, request: Request, link: Link, *, service: str | None = None,
        reason: str | None = None,
    ) -> None:  # fmt: skip
        if self.capture is not None:
            self.capture.record_request(
                kind, self.kit.clock.now(), link.id, link.workspace_id, request.scope,
                service=service, reason=reason,
            )  # fmt: skip

    def _language(self, request: Request) -> str:
        return self.pages.translations.negotiate(request.headers.get("accept-language"))

    def _message(
        self,
        request: Request,
        status: int,
        heading: str,
        *paragraphs: str,
        back: str | None = None,
    ) -> HTMLResponse:
        language = self._language(request)
        _ = self.pages.translations.get(language).gettext
        body = self.pages.render(
            "presave/message.html",
            language,
            {
                "heading": heading,
                "paragraphs": paragraphs,
                "back_href": back,
                "back_text": _("Back to the release"),
            },
        )
        return HTMLResponse(body, status_code=status, headers=self._security_headers())

    @staticmethod
    def _security_headers(csp: str | None = None) -> dict[str, str]:
        return security_headers(csp or PRESAVE_PAGE_CSP, referrer="no-referrer")

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            _ = self.pages.translations.get(self._language(request)).gettext
            try:
                return await handler(request)
            except _Refused as refused:
                return self._message(request, refused.status, refused.heading, *refused.paragraphs)
            except OAuthStateRefused as error:
                reasons = {
                    "unknown": _("This sign-in link is not one we started, or it was altered."),
                    "foreign_browser": _(
                        "This sign-in was started in another browser. Start again here."
                    ),
                    "replayed": _("This sign-in was already used. Start again if you need to."),
                    "expired": _("This sign-in took too long and expired. Please start again."),
                }
                return self._message(
                    request, 400, _("We could not finish signing you in"), reasons[error.problem]
                )
            except LinkExpired:
                return self._message(
                    request,
                    410,
                    _("This link has expired"),
                    _("Ask for a new one on the release's pre-save page."),
                )
            except LinkInvalid:
                return self._message(request, 404, _("This link is not valid"))
            except ForeignBrowser:
                return self._message(
                    request,
                    403,
                    _("Open this page in the browser you pre-saved with"),
                    _(
                        "This page belongs to the browser where the pre-save was made, "
                        "so it shows nothing here. The link in our email works anywhere."
                    ),
                )
            except AlreadyConfirmed:
                return self._message(
                    request,
                    200,
                    _("Already confirmed"),
                    _("This address is already confirmed. Nothing else to do."),
                )
            except RateLimited as limited:
                minutes = max(1, -(-limited.retry_after // 60))
                page = self._message(
                    request,
                    429,
                    _("Too many requests"),
                    _("This form was sent too often. Nothing was saved and no email was sent."),
                    _("Please try again in about %(minutes)d min.") % {"minutes": minutes},
                )
                page.headers["retry-after"] = str(limited.retry_after)
                return page
            except NotBeforeRelease:
                return self._message(
                    request,
                    409,
                    _("Pre-saves are closed"),
                    _("This release is not taking pre-saves right now."),
                )
            except LaunchlinkError:
                logger.exception("pre-save request refused")
                return self._message(request, 400, _("Something went wrong"))

        return guarded

    async def _body(self, request: Request) -> bytes:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_FORM_BYTES:
            raise _Refused(413, "Too much data")
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise _Refused(413, "Too much data")
        return body

    async def _form(self, request: Request) -> dict[str, str]:
        body = await self._body(request)
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def _client_ip(self, request: Request) -> str | None:
        peer = request.client.host if request.client else None
        return client_address(peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)

    async def _limit(
        self, request: Request, browser_id: str, *email_limits: tuple[RateLimit, str]
    ) -> None:
        """Count this post against its browser's limit, its client IP's (far higher: many
        fans share one address) and each (limit, email address) given; :class:`RateLimited`
        (nothing recorded) when one is full."""
        hits = [Hit(limit, address) for limit, address in email_limits]
        hits.append(Hit(BROWSER_POSTS, browser_id))
        client = self._client_ip(request)
        if client is not None:
            hits.append(Hit(ADDRESS_POSTS, client))
        await self.limiter.check(hits)

    def _browser_id(self, request: Request) -> str | None:
        """The id in the browser's signed cookie (None if absent or not ours)."""
        cookie = parse_cookies(request.headers.get("cookie")).get(BROWSER_COOKIE)
        return self.kit.signer.browser_id_of(cookie)

    def _browser_hash(self, request: Request) -> str | None:
        browser_id = self._browser_id(request)
        return self.kit.signer.browser_hash(browser_id) if browser_id else None

    def _bare_view(self, request: Request) -> FanView:
        """A view for pages outside a link's phase (revoke, confirmations, playlists)."""
        return FanView(
            language=self._language(request),
            phase=Phase.PRESAVE,
            country=None,
            zone="UTC",
            instant=self.kit.clock.now(),
            chosen_zone=None,
            in_app=None,
            browser_id=self._browser_id(request),
            resumed_magic_id=None,
        )

    def _form_page(
        self,
        request: Request,
        template: str,
        language: str,
        context: dict[str, Any],
        *,
        view: FanView | None = None,
        csp: str | None = None,
    ) -> HTMLResponse:
        """A page with a form, rendered for this browser (its CSRF token, and the browser
        cookie when it has none yet)."""
        token, cookies = self.front.csrf(view or self._bare_view(request))
        body = self.pages.render(template, language, {**context, "csrf": token})
        response = HTMLResponse(body, headers=self._security_headers(csp))
        for cookie in cookies:
            response.headers.append("set-cookie", cookie)
        return response

    def _check_csrf(self, request: Request, form: dict[str, str]) -> str:
        browser_id = self._browser_id(request)
        if browser_id is None or not self.kit.signer.csrf_ok(browser_id, form.get("csrf")):
            _ = self.pages.translations.get(self._language(request)).gettext
            raise _Refused(
                403,
                _("Please try again"),
                _(
                    "This form expired or was sent from another page. "
                    "Go back, reload and try again."
                ),
            )
        return browser_id

    async def _snapshot(self, request: Request, slug: str) -> LinkSnapshot:
        host = (request.headers.get("host") or "").split(":")[0].lower()
        custom = None if not host or host == self.platform_host else host
        snapshot = await self.source.load(custom, slug)
        if snapshot is None and custom is not None:
            snapshot = await self.source.load(None, slug)
        if snapshot is None:
            raise LinkInvalid("no such link")
        return snapshot

    async def _snapshot_of_link(self, link: Link) -> LinkSnapshot:
        snapshot = await self.source.load(link.host or None, link.slug)
        if snapshot is None:
            raise LinkInvalid("no such link")
        return snapshot

    def _choices(
        self,
        request: Request,
        view: FanView,
        *,
        email: str | None,
        email_consent: bool,
        phone: str | None,
        sms_consent: bool,
        future_consent: bool,
        email_reminder: bool = False,
        sms_reminder: bool = False,
    ) -> FanChoices:
        client = self._client_ip(request)
        return FanChoices(
            language=view.language,
            email=email,
            email_consent=email_consent,
            email_reminder=email_reminder,
            phone=phone,
            sms_consent=sms_consent,
            sms_reminder=sms_reminder,
            future_consent=future_consent,
            country=view.country,
            chosen_zone=view.chosen_zone,
            in_app=view.in_app,
            ip_hash=hash_ip(self.kit.secret_key, client),
            user_agent=request.headers.get("user-agent"),
            resume_magic_id=view.resumed_magic_id,
        )

    async def _page_with_errors(
        self,
        request: Request,
        snapshot: LinkSnapshot,
        view: FanView,
        form: dict[str, str],
        message: str,
    ) -> Response:
        values = {
            "email": form.get("email", ""),
            "phone": form.get("phone", ""),
            **{box: form.get(box) == "1" for box in CONTACT_BOXES},
            "future_consent": form.get("future_consent") == "1",
        }
        page = await self.front.page_body(snapshot, view, errors=[message], values=values)
        body, cookies = self.front.personalise(page, view)
        headers = self.front.headers(body, view.language, cookies)
        response = Response(body, status_code=400)
        response.raw_headers = headers
        return response

    def _translated_error(self, language: str, error: InvalidContact) -> str:
        _ = self.pages.translations.get(language).gettext
        if error.field == "phone":
            return _("Enter your mobile number in international form, like +44 7700 900123.")
        return _("Enter a valid email address, like name@example.com, and tick its box.")

    # -- starting a pre-save ---------------------------------------------------------------

    async def connect(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        form = await self._form(request)
        browser_id = self._check_csrf(request, form)
        snapshot = await self._snapshot(request, slug)
        view = self.front.view(
            snapshot, RequestVisitor.of(request), self.countries.country(request)
        )
        if view.phase is not Phase.PRESAVE or snapshot.campaign is None:
            return RedirectResponse(f"/{snapshot.slug}", status_code=303)
        option = await self._option(snapshot, form.get("service", ""))
        if not option.connects:
            raise ServiceNotOffered("this service takes reminders only")
        try:
            email, phone = self._contact(form, require_one=False)
        except InvalidContact as error:
            return await self._page_with_errors(
                request, snapshot, view, form, self._translated_error(view.language, error)
            )
        choices = self._choices(
            request,
            view,
            email=email,
            phone=phone,
            future_consent=form.get("future_consent") == "1"
            and snapshot.campaign.future_releases_opt_in,
            **self._boxes(form, email=email, phone=phone),
        )
        connectors = await self.kit.connectors_for(snapshot.workspace_id)
        connector = connectors.get(option.service)
        if connector is None:
            raise ServiceNotOffered("no connector")
        await self._limit(request, browser_id, *([(CONFIRMATION_EMAILS, email)] if email else []))
        pkce = new_pkce_pair()
        async with self.database.transaction(write_lock=True) as session:
            repository = PresaveRepository(session)
            found = await repository.link_with_release(snapshot.link_id)
            campaign = await repository.campaign(snapshot.link_id)
            if found is None or campaign is None:
                raise LinkInvalid("no such link")
            link, _release = found
            actions = await presave_service.planned_actions(
                session,
                campaign,
                option.service,
                option.mode,
                connector=connector,
                release_title=snapshot.release_title,
            )
            started = await presave_service.start_attempt(
                session,
                self.kit,
                link=link,
                service=option.service,
                browser_id=browser_id,
                code_verifier=pkce.verifier,
                choices=choices,
            )
        self._track("presave_start", request, link, service=option.service)
        if option.service == APPLE_MUSIC:
            if self.apple_authorize_url is not None:
                query = urlencode({"redirect_uri": self.callback_url, "state": started.state})
                return RedirectResponse(f"{self.apple_authorize_url}?{query}", status_code=303)
            return RedirectResponse(
                f"/presave/{snapshot.slug}/apple?state={quote(started.state)}", status_code=303
            )
        url = connector.authorization_url(
            state=started.state,
            code_challenge=pkce.challenge,
            redirect_uri=self.callback_url,
            scopes=presave_service.scopes_for(connector, actions),
        )
        return RedirectResponse(url, status_code=303)

    async def _option(self, snapshot: LinkSnapshot, service: str) -> ServiceOption:
        for option in await self.front.options(snapshot):
            if option.service == service:
                return option
        raise ServiceNotOffered("this service is not offered on this page")

    # -- the way back: OAuth callback and Apple's token --------------------------------------

    async def callback(self, request: Request) -> Response:
        params = request.query_params
        return await self._finish(
            request,
            state=params.get("state", ""),
            code=params.get("code"),
            music_user_token=params.get("music_user_token"),
            error=params.get("error") or params.get("error_reason"),
        )

    async def apple_token(self, request: Request) -> Response:
        form = await self._form(request)
        self._check_csrf(request, form)
        return await self._finish(
            request,
            state=form.get("state", ""),
            code=None,
            music_user_token=form.get("music_user_token") or None,
            error=None if form.get("music_user_token") else "access_denied",
        )

    async def _finish(
        self,
        request: Request,
        *,
        state: str,
        code: str | None,
        music_user_token: str | None,
        error: str | None,
    ) -> Response:
        language = self._language(request)
        _ = self.pages.translations.get(language).gettext
        async with self.database.transaction(write_lock=True) as session:
            attempt = await presave_service.claim_attempt(
                session, self.kit, state=state, browser_id=self._browser_id(request)
            )
            link = await PresaveRepository(session).link(attempt.link_id)
            if link is None:
                raise LinkInvalid("no such link")
            verifier = presave_service.code_verifier_of(self.kit, attempt)
            if error is not None or (code is None and music_user_token is None):
                attempt.outcome = "denied"
        back = f"/{link.slug}"
        if attempt.outcome == "denied":
            self._track("presave_failed", request, link, service=attempt.service, reason="denied")
            return self._message(
                request,
                200,
                _("Nothing was saved"),
                _("You did not allow access, so we saved nothing and keep no data."),
                _("You can still ask for a reminder instead."),
                back=back,
            )
        snapshot = await self._snapshot_of_link(link)
        connector = (await self.kit.connectors_for(snapshot.workspace_id)).get(attempt.service)
        option = next(
            (o for o in await self.front.options(snapshot) if o.service == attempt.service), None
        )
        mode = option.mode if option is not None and option.connects else ServiceMode.direct_save
        try:
            if connector is None:
                raise ConnectFailed("connector gone")
            if music_user_token is not None and attempt.service == APPLE_MUSIC:
                tokens = TokenSet(access_token=music_user_token, scopes=("library",))
            elif code is not None:
                tokens = await connector.exchange_code(
                    code=code, code_verifier=verifier, redirect_uri=self.callback_url
                )
            else:
                raise ConnectFailed("no code")
            account = await connector.current_user(tokens)
        except (ConnectorError, ConnectFailed) as failure:
            logger.warning(
                "pre-save sign-in failed on %s: %s", attempt.service, type(failure).__name__
            )
            if (
                isinstance(failure, NotAllowed)
                and failure.reason == "invalid_client"
                and connector is not None
                and self.kit.apps is not None
            ):
                # The workspace's own app refused (the instance's is not on its row):
                # recorded, shown in Settings, and the service is no longer offered.
                await self.kit.apps.reject(snapshot.workspace_id, connector, str(failure))
            async with self.database.transaction(write_lock=True) as session:
                await presave_service.finish_attempt(session, attempt.id, "failed")
            failed = type(failure).__name__
            self._track("presave_failed", request, link, service=attempt.service, reason=failed)
            return self._message(
                request,
                502,
                _("We could not finish signing you in"),
                _(
                    "The music service did not accept the sign-in. "
                    "Nothing was saved; please try again."
                ),
                back=back,
            )
        async with self.database.transaction(write_lock=True) as session:
            reloaded = await PresaveRepository(session).attempt_by_state(attempt.state_hash)
            if reloaded is None:
                raise LinkInvalid("the sign-in attempt is gone")
            attempt = reloaded
            connected = await presave_service.record_connection(
                session,
                self.kit,
                attempt=attempt,
                mode=mode,
                tokens=tokens,
                account=account,
                translate=lambda message: self.pages.gettext(language, message),
                connector=connector,
            )
            choices = FanChoices.from_json(attempt.context)
            presave_id, actions = connected.presave.id, dict(connected.presave.actions)
            fan_id, created = connected.fan.id, connected.created
            browser_hash = attempt.browser_hash
            chooser = presave_service.playlist_token(self.kit, connected.presave, browser_hash)
            confirm_email = connected.pending is not None
        await self.deliver()
        self.front.grants_changed(snapshot.workspace_id)
        self._track("presave_authorised", request, link, service=attempt.service)
        self._track_optins(request, link, choices)
        if created and connector is not None:
            outcomes = await presave_service.consent_time_actions(connector, tokens, actions, mode)
            async with self.database.transaction(write_lock=True) as session:
                await presave_service.record_consent_time_outcomes(session, presave_id, outcomes)
        if presave_service.playlist_choice_pending(actions):
            pending = "&email=pending" if confirm_email else ""
            return RedirectResponse(
                f"/presave/{snapshot.slug}/playlist?t={chooser}{pending}", status_code=303
            )
        return self._to_confirmation(snapshot, fan_id, browser_hash, email_pending=confirm_email)

    def _track_optins(self, request: Request, link: Link, choices: FanChoices) -> None:
        if choices.wants_email:
            self._track("optin_email", request, link)
        if choices.wants_sms:
            self._track("optin_sms", request, link)

    @staticmethod
    def _contact(form: dict[str, str], *, require_one: bool) -> tuple[str | None, str | None]:
        """The (email, phone) the fan ticked a box for: this release's reminder or
        marketing, either box of a channel makes its value needed."""
        return presave_service.contact_choices(
            email=form.get("email"),
            email_consent=form.get("email_consent") == "1" or form.get("email_reminder") == "1",
            phone=form.get("phone"),
            sms_consent=form.get("sms_consent") == "1" or form.get("sms_reminder") == "1",
            require_one=require_one,
        )

    @staticmethod
    def _boxes(form: dict[str, str], *, email: str | None, phone: str | None) -> dict[str, bool]:
        """Which consent each channel was given: ``*_reminder`` is this release only,
        ``*_consent`` marketing (a form posted before the split had only the latter)."""
        return {
            "email_consent": email is not None and form.get("email_consent") == "1",
            "email_reminder": email is not None and form.get("email_reminder") == "1",
            "sms_consent": phone is not None and form.get("sms_consent") == "1",
            "sms_reminder": phone is not None and form.get("sms_reminder") == "1",
        }

    def _to_confirmation(
        self, snapshot: LinkSnapshot, fan_id: UUID, browser_hash: str, *, email_pending: bool
    ) -> RedirectResponse:
        token = presave_service.confirmation_token(self.kit, fan_id, snapshot.link_id, browser_hash)
        pending = "&email=pending" if email_pending else ""
        return RedirectResponse(
            f"/presave/{snapshot.slug}/done?t={token}{pending}", status_code=303
        )

    # -- reminders and magic links ---------------------------------------------------------

    async def remind(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        form = await self._form(request)
        browser_id = self._check_csrf(request, form)
        snapshot = await self._snapshot(request, slug)
        view = self.front.view(
            snapshot, RequestVisitor.of(request), self.countries.country(request)
        )
        if view.phase is not Phase.PRESAVE or snapshot.campaign is None:
            return RedirectResponse(f"/{snapshot.slug}", status_code=303)
        service = form.get("service") or None
        if service is not None:
            await self._option(snapshot, service)
        try:
            email, phone = self._contact(form, require_one=True)
        except InvalidContact as error:
            return await self._page_with_errors(
                request, snapshot, view, form, self._translated_error(view.language, error)
            )
        choices = self._choices(
            request,
            view,
            email=email,
            phone=phone,
            future_consent=False,
            **self._boxes(form, email=email, phone=phone),
        )
        await self._limit(request, browser_id, *([(CONFIRMATION_EMAILS, email)] if email else []))
        browser_hash = self.kit.signer.browser_hash(browser_id)
        async with self.database.transaction(write_lock=True) as session:
            repository = PresaveRepository(session)
            found = await repository.link_with_release(snapshot.link_id)
            if found is None:
                raise LinkInvalid("no such link")
            link, release = found
            signup = await presave_service.sign_up_for_reminder(
                session,
                self.kit,
                link=link,
                release=release,
                campaign=await repository.campaign(link.id),
                service=service,
                choices=choices,
                browser_hash=browser_hash,
                translate=lambda message: self.pages.gettext(view.language, message),
            )
            fan_id = None if isinstance(signup, PendingStart) else signup.fan.id
        await self.deliver()
        self._track_optins(request, link, choices)
        if fan_id is None:
            # The same page, whoever holds the address: it must not tell the two apart.
            _ = self.pages.translations.get(view.language).gettext
            return self._message(
                request,
                200,
                _("Check your inbox"),
                _(
                    "We sent a link to the address you gave. Open it to confirm your "
                    "reminder: nothing is saved until then."
                ),
                back=f"/{snapshot.slug}",
            )
        return self._to_confirmation(snapshot, fan_id, browser_hash, email_pending=False)

    async def later(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        form = await self._form(request)
        browser_id = self._check_csrf(request, form)
        snapshot = await self._snapshot(request, slug)
        view = self.front.view(
            snapshot, RequestVisitor.of(request), self.countries.country(request)
        )
        _ = self.pages.translations.get(view.language).gettext
        try:
            email = presave_service.normalise_email(form.get("email"))
        except InvalidContact:
            email = None
        if email is None:
            return await self._page_with_errors(
                request,
                snapshot,
                view,
                form,
                _("Enter a valid email address, like name@example.com."),
            )
        choices = self._choices(
            request,
            view,
            email=email,
            email_consent=False,
            phone=None,
            sms_consent=False,
            future_consent=False,
        )
        await self._limit(request, browser_id, (MAGIC_LINK_EMAILS, email))
        async with self.database.transaction(write_lock=True) as session:
            link = await PresaveRepository(session).link(snapshot.link_id)
            if link is None:
                raise LinkInvalid("no such link")
            await presave_service.create_magic_link(
                session, self.kit, link=link, email=email, service=None, choices=choices
            )
        await self.deliver()
        return self._message(
            request,
            200,
            _("Check your inbox"),
            _("We sent you a link. Open it in your usual browser to finish your pre-save."),
            back=f"/{snapshot.slug}",
        )

    async def magic(self, request: Request) -> Response:
        async with self.database.transaction(write_lock=True) as session:
            magic = await presave_service.open_magic_link(
                session, self.kit, request.path_params["token"]
            )
            link = await PresaveRepository(session).link(magic.link_id)
            if link is None:
                raise LinkInvalid("no such link")
            magic_id, link_id, slug = magic.id, link.id, link.slug
        # The fan is found (or made) from the link's proven address when it is used.
        resume = self.kit.signer.sign(
            "resume",
            {"m": str(magic_id), "l": str(link_id)},
            expires_at=self.kit.clock.now() + RESUME_LIFETIME,
        )
        response = RedirectResponse(f"/{slug}", status_code=303)
        response.headers.append(
            "set-cookie",
            self.front.cookies.set(
                RESUME_COOKIE, resume, max_age=int(RESUME_LIFETIME.total_seconds())
            ),
        )
        return response

    # -- Apple MusicKit page ---------------------------------------------------------------

    async def apple_page(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        snapshot = await self._snapshot(request, slug)
        state = request.query_params.get("state", "")
        connector = (await self.kit.connectors_for(snapshot.workspace_id)).get(APPLE_MUSIC)
        if not isinstance(connector, AppleMusicConnector) or not connector.available:
            raise ServiceNotOffered("Apple Music is not configured")
        view = self.front.view(
            snapshot, RequestVisitor.of(request), self.countries.country(request)
        )
        nonce = secrets.token_urlsafe(16)
        csp = (
            f"default-src 'none'; script-src 'nonce-{nonce}' https://js-cdn.music.apple.com; "
            "connect-src https://api.music.apple.com https://*.apple.com; "
            "frame-src https://*.apple.com; img-src * data:; style-src 'unsafe-inline'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )
        return self._form_page(
            request,
            "presave/musickit.html",
            view.language,
            {
                "title": snapshot.release_title,
                "developer_token": connector.developer_token(),
                "nonce": nonce,
                "state": state,
                "denied_href": CALLBACK_PATH
                + "?"
                + urlencode({"state": state, "error": "access_denied"}),
            },
            view=view,
            csp=csp,
        )

    # -- after the pre-save ----------------------------------------------------------------

    def _own_browser(self, request: Request, browser_hash: str | None) -> str:
        """``browser_hash`` when it is this request's browser; :class:`ForeignBrowser` when
        the page or link was made for another one (forwarded, stolen) or names none."""
        mine = self._browser_hash(request)
        if browser_hash is None or mine is None or not secrets.compare_digest(mine, browser_hash):
            raise ForeignBrowser("this page belongs to another browser")
        return browser_hash

    async def done(self, request: Request) -> Response:
        """What this browser pre-saved on the link: only that, and only to this browser."""
        slug = request.path_params["slug"]
        token = presave_service.read_fan_token(
            self.kit, "confirmation", request.query_params.get("t", "")
        )
        fan_id, link_id = token.fan_id, token.link_id
        browser_hash = self._own_browser(request, token.browser_hash)
        snapshot = await self._snapshot(request, slug)
        if snapshot.link_id != link_id:
            raise LinkInvalid("not this link")
        language = self._language(request)
        _ = self.pages.translations.get(language).gettext
        async with self.database.sessionmaker() as session:
            presaves = await PresaveRepository(session).presaves_of_fan(
                fan_id, link_id=link_id, browser_hash=browser_hash
            )
        if not presaves:
            raise LinkInvalid("nothing here")
        first = presaves[0]
        context = self.pages.release_context(snapshot, language)
        context.update(
            self.pages.moment_context(first.due_at, first.time_zone, language, self.kit.clock.now())
        )
        share_url = quote(snapshot.canonical_url, safe="")
        text = quote(f"{snapshot.release_title} – {context['artists_text']}", safe="")
        context.update(
            items=[self.pages.describe(p, language) for p in presaves],
            ics_href=f"/presave/{slug}/calendar.ics?zone={quote(first.time_zone, safe='')}",
            revoke_href="/revoke/"
            + presave_service.revoke_token(self.kit, fan_id, link_id, browser_hash=browser_hash),
            email_pending=request.query_params.get("email") == "pending",
            shares=[
                {"name": "X", "href": f"https://x.com/intent/post?url={share_url}&text={text}"},
                {
                    "name": "Facebook",
                    "href": f"https://www.facebook.com/sharer/sharer.php?u={share_url}",
                },
                {"name": "WhatsApp", "href": f"https://wa.me/?text={text}%20{share_url}"},
                {"name": "Telegram", "href": f"https://t.me/share/url?url={share_url}&text={text}"},
                {"name": "Email", "href": f"mailto:?subject={text}&body={share_url}"},
            ],
            story_href=f"/presave/{slug}/story.png",
            follows=self._follow_suggestions(snapshot, presaves, language),
        )
        body = self.pages.render("presave/confirm.html", language, context)
        return HTMLResponse(body, headers=self._security_headers())

    def _follow_suggestions(
        self, snapshot: LinkSnapshot, presaves: Sequence[Presave], language: str
    ) -> list[dict[str, str]]:
        """The artists' profiles, the services the fan pre-saved on first (at most four)."""
        _ = self.pages.translations.get(language).gettext
        used = {p.service for p in presaves}
        ranked = sorted(snapshot.artist_pages, key=lambda page: page.service not in used)
        return [
            {
                "href": page.url,
                "text": _("Follow %(artist)s on %(service)s")
                % {"artist": page.name, "service": self.pages.service_name(page.service)},
            }
            for page in ranked[:4]
        ]

    # -- the fan's playlist ------------------------------------------------------------------

    async def playlist(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        form = await self._form(request) if request.method == "POST" else {}
        if request.method == "POST":
            self._check_csrf(request, form)
        token = form.get("t") or request.query_params.get("t", "")
        chooser = presave_service.read_playlist_token(self.kit, token)
        presave_id, fan_id, link_id = chooser.presave_id, chooser.fan_id, chooser.link_id
        # It lists the fan's own playlists: only in the browser that pre-saved.
        browser_hash = self._own_browser(request, chooser.browser_hash)
        snapshot = await self._snapshot(request, slug)
        if snapshot.link_id != link_id:
            raise LinkInvalid("not this link")
        done = presave_service.confirmation_token(self.kit, fan_id, link_id, browser_hash)
        pending = "&email=pending" if request.query_params.get("email") == "pending" else ""
        done_href = f"/presave/{snapshot.slug}/done?t={done}{pending}"
        if request.method == "POST":
            choice = form.get("playlist", "new")
            try:
                async with self.database.transaction(write_lock=True) as session:
                    await presave_service.choose_playlist(
                        session,
                        presave_id=presave_id,
                        fan_id=fan_id,
                        link_id=link_id,
                        playlist_id=None if choice == "new" else choice,
                        new_name=form.get("new_name"),
                    )
            except InvalidContact:
                _ = self.pages.translations.get(self._language(request)).gettext
                raise _Refused(400, _("Choose one of your playlists.")) from None
            return RedirectResponse(done_href, status_code=303)
        async with self.database.sessionmaker() as session:
            presave = await presave_service.presave_awaiting_playlist(
                session, presave_id=presave_id, fan_id=fan_id, link_id=link_id
            )
            grant = (
                await PresaveRepository(session).grant_by_id(presave.grant_id)
                if presave is not None and presave.grant_id is not None
                else None
            )
        if presave is None or grant is None:
            return RedirectResponse(done_href, status_code=303)
        playlists, listed = await self._fans_playlists(presave.service, grant)
        language = self._language(request)
        context = self.pages.release_context(snapshot, language)
        context.update(
            action=f"/presave/{snapshot.slug}/playlist{'?email=pending' if pending else ''}",
            token=token,
            playlists=playlists,
            listed=listed,
            new_name=str((presave.actions.get("playlist") or {}).get("name") or ""),
            service_name=self.pages.service_name(presave.service),
            skip_href=done_href,
        )
        return self._form_page(request, "presave/playlist.html", language, context)

    async def _fans_playlists(
        self, service: str, grant: ServiceGrant
    ) -> tuple[list[PlaylistInfo], bool]:
        """The fan's playlists from the service (False when they could not be read: the
        page then offers the new playlist only)."""
        connector = (await self.kit.connectors_for(grant.workspace_id)).get(service)
        if connector is None or Capability.PLAYLIST_READ not in connector.capabilities:
            return [], False
        grant_id = grant.id
        cipher = self.kit.cipher

        async def persist(fresh: TokenSet) -> None:
            async with self.database.transaction(write_lock=True) as session:
                stored = await PresaveRepository(session).grant_by_id(grant_id)
                if stored is not None:
                    presave_service.store_refreshed_tokens(stored, fresh, cipher)

        try:
            tokens = presave_service.grant_tokens(grant, cipher)
            found = await run_with_refresh(
                connector,
                tokens,
                lambda current: connector.list_playlists(current, limit=PLAYLIST_CHOICES),
                persist=persist,
            )
        except (ConnectorError, TokensGone) as failure:
            logger.warning("could not list playlists on %s: %s", service, type(failure).__name__)
            return [], False
        return found, True

    async def calendar(self, request: Request) -> Response:
        snapshot = await self._snapshot(request, request.path_params["slug"])
        zone = valid_zone(request.query_params.get("zone"))
        country = None if zone else self.countries.country(request)
        instant = fan_release_instant(snapshot.timing, country, self.kit.territories, zone)
        body = release_event(
            title=snapshot.release_title,
            artists=", ".join(snapshot.artists),
            url=snapshot.canonical_url,
            instant=instant,
            now=self.kit.clock.now(),
            key=str(snapshot.link_id),
        )
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{snapshot.slug}.ics"'},
        )

    async def story(self, request: Request) -> Response:
        """The release as a 1080 × 1920 Instagram Stories image, in the fan's language."""
        snapshot = await self._snapshot(request, request.path_params["slug"])
        view = self.front.view(
            snapshot, RequestVisitor.of(request), self.countries.country(request)
        )
        language = view.language
        _ = self.pages.translations.get(language).gettext
        if view.phase is Phase.LIVE:
            when, call = _("Out now"), _("Listen now")
        else:
            moment = self.pages.moment_context(
                view.instant, view.zone, language, self.kit.clock.now()
            )
            when = _("Out %(moment)s") % {"moment": moment["release_moment_text"]}
            call = _("Pre-save now")
        key = (snapshot.link_id, snapshot.version, language, when, call)
        image = self.stories.get(key)
        if image is None:
            cover = None
            if self.artwork is not None and snapshot.artwork_url:
                stored = snapshot.artwork_url.removeprefix(MEDIA_PREFIX)
                cover = self.artwork.read(stored) if stored != snapshot.artwork_url else None
            parts = urlsplit(snapshot.canonical_url)
            text = StoryText(
                title=snapshot.release_title,
                artists=self.pages.release_context(snapshot, language)["artists_text"],
                when=when,
                call=call,
                link=f"{parts.netloc}{parts.path}",
            )
            image = await asyncio.to_thread(
                story_png, text, accent=snapshot.design.theme.accent, cover=cover
            )
            self.stories.put(key, image)
        return Response(
            image,
            media_type="image/png",
            headers={
                "cache-control": "public, max-age=3600",
                "x-content-type-options": "nosniff",
                "content-disposition": f'inline; filename="{snapshot.slug}-story.png"',
            },
        )

    async def timezone(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        snapshot = await self._snapshot(request, slug)
        if request.method == "POST":
            form = await self._form(request)
            self._check_csrf(request, form)
            zone = valid_zone(form.get("zone"))
            response = RedirectResponse(f"/{snapshot.slug}", status_code=303)
            if zone is not None:
                response.headers.append(
                    "set-cookie", self.front.cookies.set(TIME_ZONE_COOKIE, zone)
                )
            return response
        view = self.front.view(
            snapshot, RequestVisitor.of(request), self.countries.country(request)
        )
        return self._form_page(
            request,
            "presave/timezone.html",
            view.language,
            {
                "slug": snapshot.slug,
                "groups": zone_groups(view.language, current=view.zone),
                "current": view.zone,
            },
            view=view,
        )

    async def revoke(self, request: Request) -> Response:
        """The human revoke page: GET shows the button (mail scanners open links), the
        POST (CSRF) revokes. A link shown on a confirmation page covers what its browser
        made and works in that browser only; a link we emailed covers the fan's pre-saves
        on the link (the address is the proof)."""
        token = request.path_params["token"]
        named = presave_service.read_fan_token(self.kit, "revoke", token)
        if named.browser_hash is not None:
            self._own_browser(request, named.browser_hash)
        language = self._language(request)
        if request.method == "POST":
            form = await self._form(request)
            self._check_csrf(request, form)
            return await self._revoked(request, named)
        return self._form_page(
            request, "presave/revoke.html", language, {"done": False, "action": f"/revoke/{token}"}
        )

    async def unsubscribe(self, request: Request) -> Response:
        """The ``List-Unsubscribe`` URL of our emails (RFC 8058). The mail client's
        one-click POST (``List-Unsubscribe=One-Click``, no cookie) revokes: the signed,
        single-purpose URL is the proof. A GET only shows the human page and its CSRF form,
        because mail scanners prefetch links."""
        token = request.path_params["token"]
        named = presave_service.read_fan_token(self.kit, "unsubscribe", token)
        if request.method == "POST":
            form = await self._form(request)
            one_click = _is_one_click(
                request.headers.get("content-type", ""), form, await self._body(request)
            )
            if not one_click:
                self._check_csrf(request, form)
            return await self._revoked(request, named)
        return self._form_page(
            request,
            "presave/revoke.html",
            self._language(request),
            {"done": False, "action": f"/presave/unsubscribe/{token}"},
        )

    async def _revoked(self, request: Request, named: presave_service.FanToken) -> Response:
        async with self.database.transaction(write_lock=True) as session:
            await presave_service.revoke(
                session,
                self.kit,
                fan_id=named.fan_id,
                link_id=named.link_id,
                browser_hash=named.browser_hash,
            )
            link = await PresaveRepository(session).link(named.link_id)
        if link is not None:
            self.front.grants_changed(link.workspace_id)
        body = self.pages.render("presave/revoke.html", self._language(request), {"done": True})
        return HTMLResponse(body, headers=self._security_headers())

    # -- confirming a typed address (double opt-in) -----------------------------------------

    async def confirm(self, request: Request) -> Response:
        """The link in the opt-in email. GET shows what would be confirmed and a button
        (scanners open links; a GET must not confirm); the POST (CSRF) confirms it, in the
        browser that clicked."""
        token = request.path_params["token"]
        language = self._language(request)
        _ = self.pages.translations.get(language).gettext
        if request.method == "GET":
            async with self.database.sessionmaker() as session:
                contact = await presave_service.pending_contact_for(session, self.kit, token)
                link = await PresaveRepository(session).link(contact.link_id)
                if link is None:
                    raise LinkInvalid("no such link")
                purpose, phone = contact.purpose, contact.context.get("phone")
                # Marketing as well, or this release only (old contexts: marketing).
                marketing = bool(contact.context.get("email_consent"))
                sms = bool(
                    (contact.context.get("sms_consent") or contact.context.get("sms_reminder"))
                    and phone
                )
            snapshot = await self._snapshot_of_link(link)
            context = self.pages.release_context(snapshot, language)
            context.update(
                action=f"/presave/confirm/{token}",
                reminder=purpose is ContactPurpose.reminder,
                marketing=marketing,
                phone_ending=str(phone)[-3:] if sms else "",
            )
            return self._form_page(request, "presave/confirm_contact.html", language, context)
        form = await self._form(request)
        browser_id = self._check_csrf(request, form)
        browser_hash = self.kit.signer.browser_hash(browser_id)
        async with self.database.sessionmaker() as session:
            contact = await presave_service.pending_contact_for(session, self.kit, token)
            link = await PresaveRepository(session).link(contact.link_id)
        if link is None:
            raise LinkInvalid("no such link")
        snapshot = await self._snapshot_of_link(link)
        async with self.database.transaction(write_lock=True) as session:
            confirmed = await presave_service.confirm_contact(
                session,
                self.kit,
                token=token,
                browser_hash=browser_hash,
                ip_hash=hash_ip(self.kit.secret_key, self._client_ip(request)),
                user_agent=request.headers.get("user-agent"),
                translate=lambda message: self.pages.gettext(language, message),
            )
        await self.deliver()
        if confirmed.reminder is not None:
            return self._to_confirmation(
                snapshot, confirmed.fan_id, browser_hash, email_pending=False
            )
        return self._message(
            request,
            200,
            _("Your email address is confirmed"),
            _("Thank you. We will email you when %(title)s is out.")
            % {"title": snapshot.release_title},
            back=f"/{snapshot.slug}",
        )


async def _nothing() -> None:
    return None


def _is_one_click(content_type: str, form: dict[str, str], raw: bytes) -> bool:
    """An RFC 8058 one-click body: ``List-Unsubscribe=One-Click``, sent form-urlencoded or
    as multipart/form-data (both are allowed)."""
    if form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE:
        return True
    if not content_type.lower().startswith("multipart/form-data"):
        return False
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + raw
    )
    if not parsed.is_multipart():
        return False
    for part in parsed.iter_parts():
        if part.get_param("name", header="content-disposition") != ONE_CLICK_FIELD:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload.strip() == ONE_CLICK_VALUE.encode():
            return True
    return False
