"""The pre-save fixtures (the real app, a fan's browser, a real SMTP server) for messaging."""

from tests.presave.conftest import (  # noqa: F401 - fixtures, found by name
    admin,
    clock,
    fan,
    inbox,
    label,
    papp,
    presave_settings,
    smtp,
)
