"""``launchlink export-static DIR``: every smart link as files any static host can serve.

The escape hatch: if this service is ever turned off, the links keep working from a
bucket, Netlify, a plain nginx or even ``file://``. Per link, ``<slug>/index.html`` is
the live page (CSS and icons inline, buttons pointing straight at the services, cover art
copied beside it when it is ours); ``/<slug>/<service>`` keeps working through redirect
maps written for nginx (``nginx-redirects.conf``, ``include`` it in a ``server``), Caddy
(``Caddyfile.redirects``, ``import`` it in a site block) and Netlify-style hosts
(``_redirects``, with per-country URLs as ``Country=`` conditions). Links on a custom
domain are written under ``domains/<hostname>/``, a site of their own with its own maps.

Every link is exported as live: a page exported before release day has no server left to
switch it over, so it shows the buttons (which the services answer once the release is
out there). Pre-save forms need the service and are not exported.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from markupsafe import escape

from launchlink.config import Settings
from launchlink.db import Database
from launchlink.design.artwork import MEDIA_PREFIX
from launchlink.design.media import artwork_store
from launchlink.i18n import Catalogues
from launchlink.links.page import PageRenderer
from launchlink.links.page_cache import PageVariant
from launchlink.links.phase import Phase
from launchlink.links.snapshot import LinkSnapshot
from launchlink.links.snapshots import DatabaseSnapshotSource
from launchlink.ops.repository import OpsRepository

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class ExportResult:
    links: int
    redirects: int


@dataclass(frozen=True)
class _Redirect:
    source: str
    target: str
    country: str | None = None


async def export_site(
    settings: Settings, directory: Path, *, base_url: str | None = None
) -> ExportResult:
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as session:
            keys = await OpsRepository(session).link_keys()
        source = DatabaseSnapshotSource(database, public_base_url=settings.public_url)
        snapshots = [
            found
            for host, slug in keys
            if (found := await source.load(host or None, slug)) is not None
        ]
    finally:
        await database.dispose()
    return write_site(snapshots, directory, settings=settings, base_url=base_url)


def write_site(
    snapshots: Sequence[LinkSnapshot],
    directory: Path,
    *,
    settings: Settings,
    base_url: str | None = None,
) -> ExportResult:
    # The platform's own site always gets its maps, even empty, so a deploy step that
    # includes them never breaks.
    sites: dict[str | None, list[LinkSnapshot]] = {None: []}
    for snapshot in snapshots:
        sites.setdefault(snapshot.host, []).append(snapshot)
    directory.mkdir(parents=True, exist_ok=True)
    catalogues = Catalogues.load()
    redirects = 0
    for host, members in sorted(sites.items(), key=lambda item: item[0] or ""):
        root = directory if host is None else directory / "domains" / host
        site_url = (base_url or settings.public_url) if host is None else f"https://{host}"
        renderer = PageRenderer(catalogues=catalogues, public_base_url=site_url)
        redirects += _write_one_site(root, members, renderer, settings, site_url.rstrip("/"))
    return ExportResult(links=len(snapshots), redirects=redirects)


def _write_one_site(
    root: Path,
    snapshots: Sequence[LinkSnapshot],
    renderer: PageRenderer,
    settings: Settings,
    site_url: str,
) -> int:
    redirects: list[_Redirect] = []
    for snapshot in sorted(snapshots, key=lambda s: s.slug):
        page_dir = root / snapshot.slug
        page_dir.mkdir(parents=True, exist_ok=True)
        snapshot = replace(snapshot, canonical_url=f"{site_url}/{snapshot.slug}")
        artwork = _copy_artwork(
            snapshot.artwork_url, page_dir, settings.public_url, settings.var_dir
        )
        if artwork is not None:
            snapshot = replace(snapshot, artwork_url=f"{site_url}/{snapshot.slug}/{artwork}")
        variant = PageVariant(
            language=DEFAULT_LANGUAGE,
            services=tuple(d.service for d in snapshot.destinations),
            phase=Phase.LIVE,
        )
        html = renderer.link_page(snapshot, variant, direct=True).decode("utf-8")
        if artwork is not None:
            # The <img>s (cover and blurred backdrop) read the copy beside the page, so
            # file:// shows them too; the preview cards keep the absolute URL crawlers need.
            html = html.replace(f'src="{escape(snapshot.artwork_url)}"', f'src="{escape(artwork)}"')
        (page_dir / "index.html").write_text(html, encoding="utf-8")
        for destination in snapshot.destinations:
            source = f"/{snapshot.slug}/{destination.service}"
            for country, url in sorted(destination.country_urls.items()):
                redirects.append(_Redirect(source, url, country.lower()))
            redirects.append(_Redirect(source, destination.url))
    _write_maps(root, redirects)
    return len(redirects)


def _copy_artwork(
    url: str | None, page_dir: Path, public_url: str, settings_var_dir: Path
) -> str | None:
    """Copy cover art served by us (``/static``, or stored from an upload) next to the
    page; None otherwise."""
    if not url:
        return None
    parts = urlsplit(url)
    own = urlsplit(public_url)
    if parts.scheme and (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
        return None  # somebody else's image: it outlives us or not on its own
    if parts.path.startswith(MEDIA_PREFIX):
        # Artwork uploaded on the Design page: the file we stored, named by its content.
        stored = artwork_store(settings_var_dir).path(parts.path.removeprefix(MEDIA_PREFIX))
        if stored is None:
            return None
        shutil.copyfile(stored, page_dir / "artwork.jpg")
        return "artwork.jpg"
    if not parts.path.startswith("/static/"):
        return None
    relative = Path(parts.path.removeprefix("/static/"))
    if ".." in relative.parts:
        return None
    found = (STATIC_DIR / relative).resolve()
    if not found.is_file() or STATIC_DIR not in found.parents:
        return None
    name = f"artwork{found.suffix.lower()}"
    shutil.copyfile(found, page_dir / name)
    return name


def _write_maps(root: Path, redirects: Sequence[_Redirect]) -> None:
    plain = [r for r in redirects if r.country is None]
    # Netlify reads rules top down, first match wins: country rules before the default.
    netlify = [
        f"{r.source}  {r.target}  302" + (f"  Country={r.country}" if r.country else "")
        for r in redirects
    ]
    nginx = [
        f"location = {r.source} {{ return 302 {_quote(r.target)}; }}"
        if "$" not in r.target
        # nginx has no escape for "$" in a string: such a URL would read as a variable.
        else f"# {r.source}: its URL holds a '$'; redirect it by hand"
        for r in plain
    ]
    caddy = [f"redir {r.source} {_quote(r.target)} 302" for r in plain]
    header = "# written by `launchlink export-static`; per-country URLs are in _redirects only\n"
    (root / "_redirects").write_text("\n".join(netlify) + "\n", encoding="utf-8")
    (root / "nginx-redirects.conf").write_text(header + "\n".join(nginx) + "\n", encoding="utf-8")
    (root / "Caddyfile.redirects").write_text(header + "\n".join(caddy) + "\n", encoding="utf-8")


def _quote(url: str) -> str:
    # Destination URLs were validated when saved; quoting keeps ; { } and spaces literal.
    return '"' + url.replace("\\", "\\\\").replace('"', '\\"') + '"'
