"""Every fan-facing pre-save string is translated into every shipped language."""

from __future__ import annotations

from pathlib import Path

import jinja2.ext
import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from launchlink.accounts.service import set_base_language
from launchlink.app import Application
from launchlink.connectors.spotify.connector import SCOPES
from launchlink.i18n import Catalogues
from tests.api.conftest import Api
from tests.builders import WorkspaceKey
from tests.presave.conftest import browser_for, make_presave_link

SRC = Path(__file__).resolve().parents[2] / "src" / "launchlink"


def _msgids() -> set[str]:
    found: set[str] = set()
    options = {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
    for path in (SRC / "templates" / "presave").iterdir():
        if path.suffix in (".html", ".txt"):
            with path.open("rb") as handle:
                for _line, _func, message, _comments in jinja2.ext.babel_extract(
                    handle, ("_", "gettext", "ngettext"), [], options
                ):
                    found.add(message if isinstance(message, str) else message[0])
    for path in (SRC / "presave").glob("*.py"):
        with path.open("rb") as handle:
            for _line, message, _comments, _ctx in extract(
                "python", handle, keywords={"_": None, "N_": None}
            ):
                found.add(message if isinstance(message, str) else message[0])
    return found | set(SCOPES.values())


def _translated(language: str) -> set[str]:
    ids: set[str] = set()
    for domain in ("presave", "messages"):
        path = SRC / "locale" / language / "LC_MESSAGES" / f"{domain}.po"
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            text = message.string if isinstance(message.string, str) else message.string[0]
            if msgid and text:
                ids.add(msgid)
    return ids


@pytest.mark.parametrize("language", ["es", "pt", "fr", "de", "it", "nl"])
def test_every_presave_string_is_translated(language: str) -> None:
    assert sorted(_msgids() - _translated(language)) == []


async def test_a_spanish_fan_reads_the_page_and_the_scopes_in_spanish(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    await make_presave_link(admin, label)
    async with browser_for(papp, **{"Accept-Language": "es-ES,es;q=0.9"}) as browser:
        html = (await browser.get("/soon")).text
    assert '<span class="name">Spotify</span><span class="cta">Pre-save</span>' in html
    assert "Recibe un recordatorio" in html  # the opt-in box's heading
    assert "Guardar el lanzamiento (álbum y canciones) en tu biblioteca de Spotify." in html


async def test_a_fan_in_a_language_we_lack_reads_the_workspace_base_language(
    papp: Application, admin: Api, label: WorkspaceKey
) -> None:
    async with papp.context.database.transaction() as session:
        await set_base_language(
            session, label.workspace_id, "es", shipped=Catalogues.load().languages
        )
    await make_presave_link(admin, label)
    async with browser_for(papp, **{"Accept-Language": "ja,ko;q=0.8"}) as browser:
        html = (await browser.get("/soon")).text
    assert '<html lang="es">' in html
    assert "Recibe un recordatorio" in html
    async with browser_for(papp, **{"Accept-Language": "de"}) as browser:
        assert '<html lang="de">' in (await browser.get("/soon")).text
