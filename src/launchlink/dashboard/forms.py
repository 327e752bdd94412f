"""The dashboard's forms: what each accepts, checked field by field."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from launchlink.models.accounts import Role, WorkspaceKind
from launchlink.web.forms import EmailAddress

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A name: surrounding spaces dropped, then 1 to 200 characters."""
# Passwords are taken exactly as typed (a trailing space is part of it).
Password = Field(min_length=10, max_length=200)


def _blank_is_none(value: Any) -> Any:
    # An empty field of a GET form means "not given", not "invalid".
    return None if value == "" else value


Optional = BeforeValidator(_blank_is_none)


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LoginForm(_Form):
    email: EmailAddress
    password: str = Field(min_length=1, max_length=200)


class SignUpForm(_Form):
    name: Text
    email: EmailAddress
    password: str = Password
    workspace_name: Text
    kind: WorkspaceKind = WorkspaceKind.artist


class WorkspaceForm(_Form):
    name: Text
    kind: WorkspaceKind = WorkspaceKind.artist


class ResetRequestForm(_Form):
    email: EmailAddress


class NewPasswordForm(_Form):
    password: str = Password


class AcceptForm(_Form):
    name: Text
    password: str = Password


class InviteForm(_Form):
    email: EmailAddress
    role: Role = Role.editor


class RoleForm(_Form):
    role: Role


class ApiKeyForm(_Form):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role = Role.editor


class AccountForm(_Form):
    name: Text


class PasswordChangeForm(_Form):
    current: str = Field(min_length=1, max_length=200)
    password: str = Password


class PasteForm(_Form):
    paste: str = Field(max_length=2048)


class CampaignForm(_Form):
    paste: str = Field(max_length=2048)
    slug: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    release_date: date | None = None


class AnalyticsForm(_Form):
    """The analytics page's filters (a GET form: the URL is the view, so it can be shared)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    start: Annotated[date | None, Optional] = Field(default=None, alias="from")
    end: Annotated[date | None, Optional] = Field(default=None, alias="to")
    campaign: Annotated[UUID | None, Optional] = None
    interval: Literal["hour", "day"] = "day"


class FansForm(_Form):
    """The fans page's filters (GET)."""

    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] = ""
    consent: Literal["", "any", "email", "sms", "reminder", "none"] = ""
    campaign: Annotated[UUID | None, Optional] = None
    service: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] = ""
    before: Annotated[UUID | None, Optional] = None
