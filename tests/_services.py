"""Which real services the test run can reach, and the loud report when one is missing.

On a developer's fresh machine PostgreSQL, Redis or Chromium may be absent: their tests
skip with a banner at the end of the run. In CI (``CI=true``) a missing service fails
the run instead, so a green CI always means every backend was exercised.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
POSTGRES_ADMIN_URL = os.environ.get(
    "LAUNCHLINK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LAUNCHLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM_PATH = os.environ.get("LAUNCHLINK_TEST_CHROMIUM", "/usr/bin/chromium")

missing_services: dict[str, str] = {}


def service_missing(name: str, reason: str) -> None:
    """Skip (or, in CI, fail) the current test because ``name`` cannot run here."""
    missing_services[name] = reason
    message = f"{name} unavailable: {reason}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: every backend must run)", pytrace=False)
    pytest.skip(message)


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def chromium_available() -> bool:
    return os.path.exists(CHROMIUM_PATH) or shutil.which("chromium") is not None
