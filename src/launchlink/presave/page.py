"""Rendering the fan-facing pre-save pages (Jinja2, no JavaScript except Apple's MusicKit).

Pages are rendered once per variant and cached by :mod:`launchlink.presave.front`, cut
at their CSRF form fields so each browser's token goes there and nowhere else; pages that
are not cached are rendered with the visitor's token (``csrf`` in the context).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from babel import Locale
from babel.lists import format_list
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from launchlink.i18n import format_release_moment, format_zone
from launchlink.kit.territories import zones_by_country
from launchlink.links.page import (
    DEFAULT_THEME_CSS,
    TEMPLATES_DIR,
    ServiceLooks,
    card_image,
    theme_css,
)
from launchlink.links.phase import Countdown
from launchlink.links.snapshot import LinkSnapshot
from launchlink.models.presave import ANY_SERVICE, Presave, ServiceMode
from launchlink.presave.i18n import PresaveTranslations
from launchlink.presave.modes import ServiceOption
from launchlink.web.security import FAN_PAGE_CSP

# Progressive enhancement only: the page says "3 days to go" without it; with it the line
# ticks down to the second. Inline (no extra request) and allowed by its hash alone.
COUNTDOWN_SCRIPT = Markup(
    "(function(){var e=document.getElementById('countdown');if(!e||!e.dataset.at)return;"
    "var t=Date.parse(e.dataset.at);if(isNaN(t))return;"
    "function p(n){return(n<10?'0':'')+n}"
    "function u(){var s=Math.max(0,Math.floor((t-Date.now())/1e3)),d=Math.floor(s/86400);"
    "e.textContent=(d?d+'d ':'')+p(Math.floor(s%86400/3600))+'h '+p(Math.floor(s%3600/60))"
    "+'m '+p(s%60)+'s';if(s>0)setTimeout(u,1e3-Date.now()%1e3)}u()})();"
)
# Filters the time-zone list as the fan types; without it the <select> works as it is.
ZONE_FILTER_SCRIPT = Markup(
    "(function(){var w=document.getElementById('zone-search'),q=document.getElementById("
    "'zone-filter'),z=document.getElementById('zone');if(!w||!q||!z)return;w.hidden=false;"
    "q.addEventListener('input',function(){"
    "var v=q.value.toLowerCase();z.querySelectorAll('optgroup').forEach(function(g){var any=false;"
    "g.querySelectorAll('option').forEach(function(o){var m=!v||(g.label+' '+o.text+' '+o.value)"
    ".toLowerCase().indexOf(v)>=0;o.hidden=!m;any=any||m});g.hidden=!any})})})();"
)


def _script_source(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


PRESAVE_PAGE_CSP = (
    FAN_PAGE_CSP
    + f"; script-src {_script_source(COUNTDOWN_SCRIPT)} {_script_source(ZONE_FILTER_SCRIPT)}"
)
"""The fan pages' policy plus exactly the two inline scripts above (by hash)."""


@dataclass(frozen=True, slots=True)
class ZoneGroup:
    label: str
    zones: tuple[tuple[str, str], ...]
    """(zone name, the city as the fan's language says it)."""


@lru_cache(maxsize=16)
def _zone_groups(language: str) -> tuple[ZoneGroup, ...]:
    territories = Locale.parse(language).territories
    groups = [
        ZoneGroup(
            label=str(territories.get(code, code)),
            zones=tuple((zone, format_zone(zone, language)) for zone in zones),
        )
        for code, zones in zones_by_country().items()
    ]
    return tuple(sorted(groups, key=lambda group: group.label.casefold()))


def zone_groups(language: str, *, current: str) -> list[ZoneGroup]:
    """Time zones grouped by country, named in the fan's language; a current zone tzdata
    files under no country (``UTC``) gets a group of its own so it stays selectable."""
    groups = list(_zone_groups(language))
    if not any(current == zone for group in groups for zone, _city in group.zones):
        groups.insert(0, ZoneGroup(label=current, zones=((current, current),)))
    return groups


@dataclass(frozen=True, slots=True)
class OptionView:
    service: str
    name: str
    icon: Markup
    background: str
    foreground: str
    mode: str
    fallback: str | None
    url: str | None
    scopes: tuple[str, ...]


class PresavePages:
    """One Jinja environment per language, with the pre-save and main catalogues."""

    def __init__(
        self,
        translations: PresaveTranslations,
        *,
        site_name: str = "launchlink",
        looks: ServiceLooks | None = None,
        templates_dir: Path = TEMPLATES_DIR,
    ) -> None:
        self.translations = translations
        self.site_name = site_name
        self.looks = looks or ServiceLooks()
        self._templates_dir = templates_dir
        self._environments: dict[str, Environment] = {}

    def gettext(self, language: str, message: str) -> str:
        return self.translations.get(language).gettext(message)

    def option_view(self, option: ServiceOption, scopes: tuple[str, ...]) -> OptionView:
        look = self.looks.look(option.service)
        return OptionView(
            service=option.service,
            name=look.name,
            icon=look.icon,
            background=look.background,
            foreground=look.foreground,
            mode=option.mode.value,
            fallback=option.fallback,
            url=option.url,
            scopes=scopes,
        )

    def service_name(self, service: str) -> str:
        return self.looks.look(service).name

    def release_context(self, snapshot: LinkSnapshot, language: str) -> dict[str, Any]:
        _ = self.translations.get(language).gettext
        artists_text = format_list(list(snapshot.artists), locale=Locale.parse(language))
        return {
            "language": language,
            "title": snapshot.release_title,
            "artists_text": artists_text,
            # Absolute: the same value feeds og:image, which must be (the <img> takes both).
            "artwork_url": urljoin(snapshot.canonical_url, snapshot.artwork_url)
            if snapshot.artwork_url
            else None,
            "artwork_alt": _("Cover art of %(title)s by %(artists)s")
            % {"title": snapshot.release_title, "artists": artists_text},
            **card_image(snapshot),
            "slug": snapshot.slug,
            "canonical_url": snapshot.canonical_url,
            "site_name": self.site_name,
            "theme_css": theme_css(snapshot),
            "presave_headline": snapshot.design.presave_headline,
        }

    def moment_context(
        self, instant: datetime, zone_name: str, language: str, now: datetime
    ) -> dict[str, Any]:
        local = instant.astimezone(ZoneInfo(zone_name))
        text = format_release_moment(
            local, zone_name, language, midnight=self.gettext(language, "midnight")
        )
        return {
            "release_moment": Markup('<time datetime="{}">{}</time>').format(
                instant.isoformat(), text
            ),
            "release_moment_text": text,
            "release_instant_iso": instant.isoformat(),
            "countdown": Countdown.between(now, instant),
            "zone_label": format_zone(zone_name, language),
        }

    def render(self, template: str, language: str, context: dict[str, Any]) -> bytes:
        context.setdefault("language", language)
        context.setdefault("site_name", self.site_name)
        context.setdefault("modes", ServiceMode)
        context.setdefault("countdown_script", COUNTDOWN_SCRIPT)
        context.setdefault("zone_filter_script", ZONE_FILTER_SCRIPT)
        html = self._environment(language).get_template(template).render(context)
        return html.encode("utf-8")

    def render_text(self, template: str, language: str, context: dict[str, Any]) -> str:
        return self._environment(language).get_template(template).render(context)

    def _environment(self, language: str) -> Environment:
        environment = self._environments.get(language)
        if environment is None:
            environment = Environment(
                loader=FileSystemLoader(self._templates_dir),
                # Plain-text emails must not carry HTML entities ("Rock &amp; Roll").
                autoescape=select_autoescape(
                    ["html", "xml"], disabled_extensions=("txt",), default=True
                ),
                extensions=["jinja2.ext.i18n"],
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=False,
            )
            environment.policies["ext.i18n.trimmed"] = True
            environment.globals["default_theme_css"] = DEFAULT_THEME_CSS
            cast(Any, environment).install_gettext_translations(
                self.translations.get(language), newstyle=True
            )
            self._environments[language] = environment
        return environment

    def describe(self, presave: Presave, language: str) -> str:
        """One line per pre-save for the fan: what will happen, on which service."""
        _ = self.translations.get(language).gettext
        name = (
            self.service_name(presave.service)
            if presave.service != ANY_SERVICE
            else _("your music service")
        )
        if presave.state.value == "cancelled":
            return _("%(service)s: cancelled.") % {"service": name}
        if presave.mode is ServiceMode.reminder:
            return _("%(service)s: we will remind you when it is out.") % {"service": name}
        lines = []
        if presave.mode is ServiceMode.preadd:
            lines.append(
                _("%(service)s: pre-added; it appears in your library at release.")
                % {"service": name}
            )
        else:
            lines.append(
                _("%(service)s: the release will be saved to your library when it is out.")
                % {"service": name}
            )
        playlist = presave.actions.get("playlist") or {}
        if playlist.get("mode") == "add_to_fan_playlist":
            lines.append(_("It will be added to the playlist you chose."))
        elif playlist.get("mode") == "add_to_new_playlist":
            lines.append(
                _("It will be added to a new playlist, “%(name)s”.")
                % {"name": playlist.get("name", "")}
            )
        followed = [o for o in presave.outcome.get("consent_time", []) if o.get("status") == "done"]
        if any(o.get("action") == "follow_artists" for o in followed):
            lines.append(_("You now follow the artist."))
        elif presave.actions.get("follow_artists"):
            lines.append(_("You will follow the artist at release."))
        return " ".join(lines)

    def moment_text(
        self, snapshot: LinkSnapshot, presaves: list[Presave], language: str, now: datetime
    ) -> str:
        """When the release reaches the fan (their first pre-save's instant and zone)."""
        presave = presaves[0] if presaves else None
        instant = presave.due_at if presave else snapshot.timing.instant
        zone = presave.time_zone if presave else snapshot.timing.default_time_zone
        if instant is None:
            return ""
        return str(self.moment_context(instant, zone, language, now)["release_moment_text"])
