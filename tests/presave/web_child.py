"""A web process that dies right after its commit, to be used by ``test_outbox_emails.py``.

``python -m tests.presave.web_child EMAIL`` builds the app from the ``LAUNCHLINK_*``
environment (as ``launchlink serve`` does), asks for a reminder on ``/soon`` with EMAIL
over the app's own ASGI interface, and SIGKILLs itself at the moment the committed
request would deliver its events: the opt-in email is then only a row in the outbox.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys

import httpx

from launchlink.app import create_app
from launchlink.config import load_settings


async def main(email: str) -> None:
    app = create_app(load_settings())
    assert app.presave is not None

    async def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    app.presave.web.deliver = die
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url=app.context.settings.public_url,
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"},
    ) as browser:
        page = await browser.get("/soon")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None, page.text
        await browser.post(
            "/presave/soon/remind",
            data={"csrf": csrf.group(1), "service": "", "email": email, "email_consent": "1"},
        )
    raise SystemExit("the process was meant to die after the commit")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
