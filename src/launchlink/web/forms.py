"""HTML forms: a bounded body parsed into a pydantic model, errors per field.

A form is validated whole before anything is written; what failed is shown next to the
field it belongs to (``errors["email"]``), with the values typed kept in the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar
from urllib.parse import parse_qsl

from pydantic import AfterValidator, BaseModel, ValidationError
from starlette.requests import Request

from launchlink.errors import BadRequest, LaunchlinkError, PayloadTooLarge
from launchlink.presave.service import normalise_email

MAX_FORM_BYTES = 16_384
MAX_FIELDS = 50

Model = TypeVar("Model", bound=BaseModel)


def _email(raw: str) -> str:
    # The same rule as fans' addresses, so an address is valid everywhere or nowhere.
    try:
        email = normalise_email(raw)
    except LaunchlinkError as error:
        raise ValueError(error.message) from None
    if email is None:
        raise ValueError("enter your email address")
    return email


EmailAddress = Annotated[str, AfterValidator(_email)]
"""A form field holding an email address, lower-cased."""


async def read_form(request: Request, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The urlencoded body as a dict (the first value of a repeated name)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge("this form is larger than any form we accept")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("this form could not be read; reload the page and try again") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        # A NUL byte has no business in any field and breaks PostgreSQL text columns.
        form.setdefault(name, value.replace("\x00", ""))
    return form


@dataclass
class FormResult(Generic[Model]):
    values: dict[str, str]
    data: Model | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.data is not None and not self.errors

    def fail(self, name: str, message: str) -> FormResult[Model]:
        """Attach an error found after parsing (a taken email, a wrong password)."""
        self.errors[name] = message
        self.data = None
        return self


def validate(model: type[Model], values: dict[str, str]) -> FormResult[Model]:
    try:
        return FormResult(values=values, data=model.model_validate(values))
    except ValidationError as error:
        errors: dict[str, str] = {}
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]) or "form"
            message = str(problem["msg"]).removeprefix("Value error, ")
            errors.setdefault(name, message)
        return FormResult(values=values, errors=errors)
