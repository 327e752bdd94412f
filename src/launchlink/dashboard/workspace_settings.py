"""The workspace's General settings: its base language, the language of its fan pages
and messages for a fan whose own language we have no translation in (admin+ changes it,
every member sees it; the change is in the audit log)."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from launchlink.accounts import audit
from launchlink.accounts import service as accounts
from launchlink.dashboard.kit import (
    CsrfForm,
    CurrentClock,
    Member,
    Need,
    form_page,
    member,
    nav,
    refuse,
    see_other,
    workspace_url,
)
from launchlink.dependencies import Session
from launchlink.errors import ValidationFailed
from launchlink.i18n import Catalogues

router = APIRouter()

LANGUAGE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "es": "Español",
    "fr": "Français",
    "it": "Italiano",
    "nl": "Nederlands",
    "pt": "Português",
}


@cache
def shipped_languages() -> tuple[str, ...]:
    """The languages we have fan pages in (the built-in message wordings cover them)."""
    return tuple(sorted(Catalogues.load().languages))


async def _general(
    request: Request,
    session: AsyncSession,
    m: Member,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    workspace = await accounts.get_workspace(session, m.workspace.id)
    return form_page(
        request,
        "dashboard/general.html",
        {
            **nav(m, "general"),
            "base_language": workspace.base_language,
            "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in shipped_languages()],
        },
        status=status,
        errors=errors,
    )


@router.get("/w/{workspace_id}/general")
async def general(
    request: Request, session: Session, m: Annotated[Member, member(Need.view)]
) -> Response:
    return await _general(request, session, m)


@router.post("/w/{workspace_id}/general")
async def save_general(
    request: Request,
    form: CsrfForm,
    session: Session,
    clock: CurrentClock,
    m: Annotated[Member, member(Need.manage)],
) -> Response:
    """Set the base language (one of the languages we have pages in)."""
    try:
        before, after = await accounts.set_base_language(
            session,
            m.workspace.id,
            form.get("base_language", "").strip(),
            shipped=shipped_languages(),
        )
    except ValidationFailed as error:
        await refuse(session)
        return await _general(
            request, session, m, errors={"base_language": error.message}, status=422
        )
    await audit.record_change(
        session,
        m.actor,
        "workspace.base_language_changed",
        ("workspace", m.workspace.id),
        before={"base_language": before},
        after={"base_language": after},
        clock=clock,
    )
    return see_other(workspace_url(m, "/general?done=saved"))
