"""Turns a :class:`LinkSnapshot` and a :class:`PageVariant` into the fan's HTML page.

Runs only on a page-cache miss: the hot path serves the bytes this returns. The page
works without JavaScript (real ``<a href>`` buttons), inlines its CSS and the service
icons (one request for the whole page, artwork aside) and carries Open Graph, Twitter
card and JSON-LD metadata so link previews look right everywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from babel import Locale
from babel.lists import format_list
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from launchlink.design.artwork import STORED_MEDIA_TYPE
from launchlink.i18n import Catalogues, format_release_moment, format_zone
from launchlink.links.page_cache import PageVariant
from launchlink.links.snapshot import LinkSnapshot, TrackView
from launchlink.links.theme import Theme
from launchlink.platforms import UnknownPlatform, get_platform, icon_svg

PACKAGE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
LINK_TEMPLATE = "public/link.html"
MESSAGE_TEMPLATE = "public/message.html"

MessageKind = Literal["not_found", "error"]

_SVG_NOISE = re.compile(
    r"<\?xml.*?\?>|<!--.*?-->|<title>.*?</title>|\s(?:role|xmlns)=\"[^\"]*\"", re.S
)
_SVG_OPEN = re.compile(r"<svg\b")
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@dataclass(frozen=True, slots=True)
class ServiceLook:
    """How one service's button looks."""

    name: str
    icon: Markup
    background: str
    foreground: str
    action: str


class ServiceLooks:
    """Button looks per service key, built once per service and kept."""

    def __init__(self) -> None:
        self._looks: dict[str, ServiceLook] = {}

    def look(self, service: str) -> ServiceLook:
        look = self._looks.get(service)
        if look is None:
            look = self._looks[service] = _build_look(service)
        return look


def _build_look(service: str) -> ServiceLook:
    try:
        platform = get_platform(service)
    except UnknownPlatform:
        # A destination for a service the registry no longer knows still gets a button.
        return ServiceLook(
            name=service.replace("_", " ").title(),
            icon=Markup(""),
            background="var(--card)",
            foreground="var(--fg)",
            action="play",
        )
    return ServiceLook(
        name=platform.display_name,
        icon=_inline_icon(icon_svg(platform.icon)),
        background=platform.brand_color,
        foreground=platform.text_color,
        action=platform.call_to_action,
    )


def _inline_icon(svg: str) -> Markup:
    """Decorative inline SVG: the button's text already names the service."""
    svg = _SVG_NOISE.sub("", svg).strip()
    svg = _SVG_OPEN.sub('<svg aria-hidden="true" focusable="false"', svg, count=1)
    return Markup(svg)  # noqa: S704 -- our own packaged icon files, not user input


class PageRenderer:
    """Renders fan pages to bytes; one Jinja environment per shipped language."""

    def __init__(
        self,
        *,
        catalogues: Catalogues,
        public_base_url: str,
        site_name: str = "launchlink",
        looks: ServiceLooks | None = None,
        templates_dir: Path = TEMPLATES_DIR,
    ) -> None:
        self._catalogues = catalogues
        self._public_base_url = public_base_url.rstrip("/") + "/"
        self._site_name = site_name
        self._looks = looks or ServiceLooks()
        self._templates_dir = templates_dir
        self._environments: dict[str, Environment] = {}
        self._messages: dict[tuple[MessageKind, str], bytes] = {}

    @property
    def catalogues(self) -> Catalogues:
        return self._catalogues

    def link_page(
        self, snapshot: LinkSnapshot, variant: PageVariant, *, direct: bool = False
    ) -> bytes:
        """The page of one visitor variant; ``direct`` points the buttons straight at the
        services instead of at our redirects (the static export has no server)."""
        language = variant.language
        translations = self._catalogues.get(language)
        _ = translations.gettext
        artists_text = format_list(list(snapshot.artists), locale=_babel_locale(language))
        artwork_url = self._absolute(snapshot.artwork_url)
        context: dict[str, Any] = {
            "language": language,
            "phase": variant.phase,
            "title": snapshot.release_title,
            "artists_text": artists_text,
            "page_title": f"{snapshot.release_title} – {artists_text}",
            "canonical_url": snapshot.canonical_url,
            "site_name": self._site_name,
            "og_type": "music.song" if snapshot.release_type == "single" else "music.album",
            "artwork_url": artwork_url,
            "artwork_alt": _("Cover art of %(title)s by %(artists)s")
            % {"title": snapshot.release_title, "artists": artists_text},
            "json_ld": json_ld(snapshot, artwork_url),
            **card_image(snapshot),
            "theme_css": theme_css(snapshot),
            "headline": snapshot.design.headline,
            "buttons": [],
            "offer_always": None,
            "always": None,
        }
        if variant.phase.is_before_release:
            moment = _release_moment(variant)
            moment_text = format_release_moment(
                moment, _zone(variant), language, midnight=_("midnight")
            )
            context["release_moment"] = Markup('<time datetime="{}">{}</time>').format(
                moment.isoformat(), moment_text
            )
            context["countdown"] = variant.countdown
            context["zone_label"] = format_zone(_zone(variant), language)
            facts = {
                "title": snapshot.release_title,
                "artists": artists_text,
                "moment": moment_text,
            }
            # What a shared link previews (messaging apps get this card, not the form):
            # while pre-saves are open, the preview invites to pre-save, as the page does.
            if variant.phase == "presave":
                context["description"] = (
                    _("Pre-save %(title)s by %(artists)s now. Out %(moment)s.") % facts
                )
            else:
                context["description"] = _("%(title)s by %(artists)s is out %(moment)s.") % facts
        else:
            context["description"] = _("Listen to %(title)s by %(artists)s.") % {
                "title": snapshot.release_title,
                "artists": artists_text,
            }
            context["buttons"] = [
                self._button(snapshot, service, direct=direct) for service in variant.services
            ]
            if variant.offer_always is not None:
                context["offer_always"] = {
                    "href": f"/{snapshot.slug}/{variant.offer_always}?always=1",
                    "name": self._looks.look(variant.offer_always).name,
                }
        if variant.always_service is not None:
            context["always"] = {
                "name": self._looks.look(variant.always_service).name,
                "forget_href": f"/{snapshot.slug}?forget=1",
            }
        html = self._environment(language).get_template(LINK_TEMPLATE).render(context)
        return html.encode("utf-8")

    def message_page(self, kind: MessageKind, language: str) -> bytes:
        """The friendly 404 or the detail-free 500 page (rendered once per language)."""
        key = (kind, language)
        page = self._messages.get(key)
        if page is None:
            template = self._environment(language).get_template(MESSAGE_TEMPLATE)
            page = template.render(language=language, kind=kind).encode("utf-8")
            self._messages[key] = page
        return page

    def _button(self, snapshot: LinkSnapshot, service: str, *, direct: bool) -> dict[str, object]:
        look = self._looks.look(service)
        destination = snapshot.destination(service) if direct else None
        return {
            "href": destination.url if destination is not None else f"/{snapshot.slug}/{service}",
            "name": look.name,
            "icon": look.icon,
            "background": look.background,
            "foreground": look.foreground,
            "action": look.action,
        }

    def _absolute(self, url: str | None) -> str | None:
        return urljoin(self._public_base_url, url) if url else None

    def _environment(self, language: str) -> Environment:
        environment = self._environments.get(language)
        if environment is None:
            environment = Environment(
                loader=FileSystemLoader(self._templates_dir),
                autoescape=True,
                extensions=["jinja2.ext.i18n"],
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=False,
            )
            environment.policies["ext.i18n.trimmed"] = True
            environment.globals["default_theme_css"] = DEFAULT_THEME_CSS
            # Added to Environment by the i18n extension at run time, hence the cast.
            cast(Any, environment).install_gettext_translations(
                self._catalogues.get(language), newstyle=True
            )
            self._environments[language] = environment
        return environment


DEFAULT_THEME_CSS = Markup(Theme().css())  # noqa: S704 -- computed from constants


def theme_css(snapshot: LinkSnapshot) -> Markup:
    """The link's theme as ``:root`` custom properties (only validated colours go in)."""
    return Markup(snapshot.design.theme.css())  # noqa: S704 -- hex colours and keywords only


def _babel_locale(language: str) -> Locale:
    return Locale.parse(language)


def _zone(variant: PageVariant) -> str:
    if variant.zone_name is None:
        raise ValueError("a pre-release page needs the visitor's time zone")
    return variant.zone_name


def _release_moment(variant: PageVariant) -> datetime:
    if variant.release_instant_utc is None:
        raise ValueError("a pre-release page needs the visitor's release instant")
    return datetime.fromisoformat(variant.release_instant_utc).astimezone(ZoneInfo(_zone(variant)))


def card_image(snapshot: LinkSnapshot) -> dict[str, Any]:
    """og:image's size and type when we know them (artwork we stored): a messaging app
    lays its preview out before it has fetched the image."""
    side = snapshot.artwork_side
    if side is None:
        return {"artwork_width": None, "artwork_height": None, "artwork_type": None}
    return {"artwork_width": side, "artwork_height": side, "artwork_type": STORED_MEDIA_TYPE}


def json_ld(snapshot: LinkSnapshot, artwork_url: str | None) -> Markup:
    """The schema.org description of the release, safe inside a ``<script>`` block."""
    by_artist = [{"@type": "MusicGroup", "name": name} for name in snapshot.artists]
    data: dict[str, Any] = {"@context": "https://schema.org"}
    if snapshot.release_type == "single":
        data["@type"] = "MusicRecording"
        data["name"] = snapshot.release_title
        data["byArtist"] = by_artist
        if snapshot.tracks:
            data.update(_recording_details(snapshot.tracks[0]))
    else:
        data["@type"] = "MusicAlbum"
        data["name"] = snapshot.release_title
        data["byArtist"] = by_artist
        data["albumReleaseType"] = (
            "https://schema.org/EPRelease"
            if snapshot.release_type == "ep"
            else "https://schema.org/AlbumRelease"
        )
        data["numTracks"] = len(snapshot.tracks)
        data["track"] = [
            {"@type": "MusicRecording", "name": track.title, **_recording_details(track)}
            for track in snapshot.tracks
        ]
    published = _date_published(snapshot)
    if published is not None:
        data["datePublished"] = published
    if artwork_url is not None:
        data["image"] = artwork_url
    data["url"] = snapshot.canonical_url
    # Inside <script>, "</script>" or "<!--" in a title would end the block: escape < > &.
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(encoded.translate(_JSON_ESCAPES))  # noqa: S704 -- escaped just above


def _recording_details(track: TrackView) -> dict[str, str]:
    details: dict[str, str] = {}
    if track.isrc:
        details["isrcCode"] = track.isrc
    if track.duration_ms is not None and track.duration_ms > 0:
        details["duration"] = iso8601_duration(track.duration_ms)
    return details


def _date_published(snapshot: LinkSnapshot) -> str | None:
    timing = snapshot.timing
    if timing.mode == "local" and timing.local_date is not None:
        return timing.local_date.isoformat()
    if timing.instant is not None:
        return timing.instant.astimezone(ZoneInfo(timing.default_time_zone)).date().isoformat()
    return None


def iso8601_duration(duration_ms: int) -> str:
    """3 min 25 s → ``PT3M25S`` (rounded to the second, as schema.org readers expect)."""
    total_seconds = round(duration_ms / 1000)
    hours, rest = divmod(total_seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = "PT"
    if hours:
        parts += f"{hours}H"
    if minutes:
        parts += f"{minutes}M"
    if seconds or parts == "PT":
        parts += f"{seconds}S"
    return parts


__all__ = [
    "DEFAULT_THEME_CSS",
    "PageRenderer",
    "ServiceLook",
    "ServiceLooks",
    "iso8601_duration",
    "json_ld",
    "theme_css",
]
