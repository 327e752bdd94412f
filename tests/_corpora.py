"""Public user-agent corpora for measuring the bot classifier (tests and bench/bots.py).

* real browsers: ``fake-useragent``'s browsers.jsonl (PyPI, Apache-2.0, a test
  dependency), the ``user-agents`` npm package's list (Intoli, BSD-2-Clause, copied into
  tests/data with its licence), the browser fixtures of Matomo's device-detector as
  shipped by the ``device-detector`` PyPI package (a test dependency; read in place), and
  the device descriptors (real browsers' user agents, for emulation) in the ``playwright``
  package's driver;
* bots: the bundled crawler-user-agents instances, and device-detector's bots.yml.

Matomo's bots are split in two halves by a hash of the string: the "dev" half may be
looked at while writing rules, the "held-out" half is only ever measured — its figure is
the honest estimate for bots never seen by the project.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent / "data"


def fake_useragent_browsers() -> list[str]:
    text = files("fake_useragent").joinpath("data", "browsers.jsonl").read_text("utf-8")
    return sorted({json.loads(line)["useragent"] for line in text.splitlines() if line.strip()})


def intoli_browsers() -> list[str]:
    rows = json.loads((DATA / "user-agents.json").read_text("utf-8"))
    return sorted({row["userAgent"] for row in rows})


def playwright_devices() -> list[str]:
    """The user agents of Playwright's emulated devices (empty if its driver is not there)."""
    import re

    try:
        import playwright
    except ImportError:
        return []
    bundle = Path(playwright.__file__).parent / "driver" / "package" / "lib" / "coreBundle.js"
    if not bundle.exists():
        return []
    text = bundle.read_text("utf-8")
    return sorted(set(re.findall(r'userAgent: *"(Mozilla/[^"]+)"', text)))


def crawler_list_instances() -> list[tuple[dict[str, object], str]]:
    entries = json.loads((DATA / "crawler-user-agents.json").read_text("utf-8"))
    return [(entry, ua) for entry in entries for ua in entry["instances"]]


@dataclass(frozen=True)
class MatomoCorpus:
    browsers: list[str]  # client type "browser"
    apps: list[str]  # client type "mobile app": app clients, not browsers
    bots: list[tuple[str, str]]  # (user agent, Matomo's bot category)

    def bots_dev(self) -> list[tuple[str, str]]:
        return [bot for bot in self.bots if not is_held_out(bot[0])]

    def bots_held_out(self) -> list[tuple[str, str]]:
        return [bot for bot in self.bots if is_held_out(bot[0])]


def is_held_out(user_agent: str) -> bool:
    return hashlib.sha256(user_agent.encode()).digest()[0] % 2 == 1


@cache
def matomo() -> MatomoCorpus:
    import device_detector

    fixtures = Path(device_detector.__file__).parent / "tests" / "fixtures" / "upstream"
    browsers: set[str] = set()
    apps: set[str] = set()
    bots: dict[str, str] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(fixtures.glob("*.yml")):
        for entry in yaml.load(path.read_text("utf-8"), Loader=loader) or []:  # noqa: S506 - a safe loader
            user_agent = entry.get("user_agent")
            if not user_agent:
                continue
            if path.name == "bots.yml":
                bots[user_agent] = (entry.get("bot") or {}).get("category") or ""
                continue
            client_type = (entry.get("client") or {}).get("type")
            if client_type == "browser":
                browsers.add(user_agent)
            elif client_type == "mobile app":
                apps.add(user_agent)
    return MatomoCorpus(sorted(browsers - set(bots)), sorted(apps), sorted(bots.items()))


MATOMO_CLASSES = {
    "AI Data Scraper": "ai_agent",
    "AI Search Crawler": "ai_agent",
    "AI Assistant": "ai_agent",
    "AI Agent": "ai_agent",
    "Site Monitor": "monitor",
    "Network Monitor": "monitor",
    "Social Media Agent": "preview",
}
