"""Bot classifier accuracy on public corpora, and enrichment throughput on one core.

    .venv/bin/python bench/bots.py [--events N] [--folds K]

Generalisation is what matters ("bots never seen by the project"), so every recall figure
comes with a leave-out twin:

* the bundled crawler-user-agents instances classified with that list turned off (rules
  and crawlerdetect only), per class from the list's tags; and k-fold by pattern (each
  fold's patterns removed from the list, its instances classified);
* Matomo device-detector's bots.yml (a test dependency), split by a hash into a "dev"
  half that was looked at while writing rules and a "held-out" half that never was — the
  held-out figure is the honest one; "unlisted" is the part of it that neither bundled
  list matches (what only the rules can find).

False positives are measured on the real-browser corpora in tests/_corpora.py. The
throughput part replays a realistic stream — user agents drawn by fake-useragent's
observed shares, a few hundred referrers and campaign tags, 20,000 client addresses —
through the default enrichment steps with the bundled geo-IP database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._corpora import (  # noqa: E402
    MATOMO_CLASSES,
    fake_useragent_browsers,
    intoli_browsers,
    matomo,
    playwright_devices,
)

from launchlink.analytics.enrich import Enricher, EventDraft, default_steps  # noqa: E402
from launchlink.analytics.visitors import InMemorySaltStore  # noqa: E402
from launchlink.kit.clock import FrozenClock  # noqa: E402
from launchlink.kit.geo import BundledGeoResolver  # noqa: E402
from launchlink.kit.useragent import (  # noqa: E402
    VisitorAgent,
    classifier_with_list,
    classify,
    classify_without_lists,
    crawler_list,
    list_entry_class,
    warm_up,
)

Classifier = Callable[[str], VisitorAgent]


def rate(found: int, total: int) -> str:
    return f"{found / total:7.2%} ({found}/{total})" if total else "      – (0/0)"


def recall_by_class(
    title: str, samples: Iterable[tuple[str, str]], classifier: Classifier
) -> tuple[int, int]:
    found: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for user_agent, expected in samples:
        agent = classifier(user_agent)
        total[expected] += 1
        found[expected] += agent.is_bot
        exact[expected] += agent.bot_class == expected
    print(f"  {title}")
    for name in sorted(total):
        print(
            f"    {name:9s} recall {rate(found[name], total[name])}   "
            f"class right {rate(exact[name], total[name])}"
        )
    all_found, all_total = sum(found.values()), sum(total.values())
    print(f"    {'all':9s} recall {rate(all_found, all_total)}")
    return all_found, all_total


def false_positives(title: str, user_agents: list[str], classifier: Classifier) -> None:
    if not user_agents:
        print(f"  {title:34s} (corpus not installed)")
        return
    wrong = [ua for ua in user_agents if classifier(ua).is_bot]
    print(f"  {title:34s} {len(wrong) / len(user_agents):7.3%} ({len(wrong)}/{len(user_agents)})")


def crawler_list_figures(folds: int) -> None:
    entries = crawler_list()
    samples = [(ua, list_entry_class(e)) for e in entries for ua in e["instances"]]
    print("Crawler-user-agents list (bundled), instances by the list's tags")
    recall_by_class("with the list (in-sample)", samples, classify)
    recall_by_class("list turned off (rules + crawlerdetect)", samples, classify_without_lists)
    found = total = 0
    for fold in range(folds):
        kept = [e for i, e in enumerate(entries) if i % folds != fold]
        held = [e for i, e in enumerate(entries) if i % folds == fold]
        classifier = classifier_with_list(kept)
        for entry in held:
            for user_agent in entry["instances"]:
                total += 1
                found += classifier(user_agent).is_bot
    print(f"  {folds}-fold by pattern (fold's own patterns removed): recall {rate(found, total)}")


def matomo_figures() -> None:
    corpus = matomo()
    print("Matomo device-detector bots.yml")
    for title, bots in (("dev half", corpus.bots_dev()), ("held-out half", corpus.bots_held_out())):
        samples = [(ua, MATOMO_CLASSES.get(category, "bot")) for ua, category in bots]
        recall_by_class(f"{title}, everything on", samples, classify)
        recall_by_class(f"{title}, crawler list off", samples, classify_without_lists)
    unlisted = [(ua, c) for ua, c in corpus.bots_held_out() if _unlisted(ua)]
    found = sum(1 for ua, _ in unlisted if classify(ua).is_bot)
    print(f"  held-out, matched by neither bundled list: recall {rate(found, len(unlisted))}")
    print("False positives (real browsers classified as bots)")
    false_positives("fake-useragent browsers", fake_useragent_browsers(), classify)
    false_positives("intoli user-agents", intoli_browsers(), classify)
    false_positives("Playwright device descriptors", playwright_devices(), classify)
    false_positives("Matomo browser fixtures", corpus.browsers, classify)
    false_positives("Matomo mobile-app fixtures (info)", corpus.apps, classify)


def _unlisted(user_agent: str) -> bool:
    from launchlink.kit.useragent import _get_matchers

    matchers = _get_matchers()
    return matchers.crawler_list.first_label(
        user_agent
    ) is None and not matchers.crawlerdetect_says_bot(user_agent)


def event_stream(count: int) -> list[EventDraft]:
    rng = random.Random(11)
    text = files("fake_useragent").joinpath("data", "browsers.jsonl").read_text("utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    agents = [row["useragent"] for row in rows]
    weights = [row["percent"] for row in rows]
    bots = [ua for entry in crawler_list()[:300] for ua in entry["instances"]]
    referrers = [None] * 40 + [
        f"https://{host}/{path}"
        for host in ("l.instagram.com", "t.co", "lm.facebook.com", "www.google.com",
                     "m.youtube.com", "www.tiktok.com", "mail.google.com", "blog.example.org")
        for path in ("", "a", "b?x=1")
    ]  # fmt: skip
    queries = [None] * 20 + [
        f"utm_source={s}&utm_medium={m}&utm_campaign=launch&c={c}"
        for s, m, c in (("ig", "social", "ig-story"), ("newsletter", "email", "email-1"),
                        ("tiktok", "social", "tt-bio"), ("sms", "sms", "sms-1"))
    ]  # fmt: skip
    ips = [".".join(str(rng.randint(1, 223)) for _ in range(4)) for _ in range(20_000)]
    links = [UUID(int=i) for i in range(1, 200)]
    start = datetime(2027, 3, 1, tzinfo=UTC)
    drafts = []
    for i in range(count):
        user_agent = rng.choice(bots) if rng.random() < 0.1 else rng.choices(agents, weights)[0]
        drafts.append(
            EventDraft(
                ts=start + timedelta(milliseconds=i),
                link_id=rng.choice(links),
                workspace_id=UUID(int=7),
                kind="click",
                user_agent=user_agent,
                referrer=rng.choice(referrers),
                query=rng.choice(queries),
                accept="text/html,*/*",
                client_ip=rng.choice(ips),
            )
        )
    return drafts


def throughput(count: int) -> None:
    geo = BundledGeoResolver()
    geo.load()
    enricher = Enricher(
        default_steps(
            geo=geo, salts=InMemorySaltStore(FrozenClock(datetime(2027, 3, 1, tzinfo=UTC)))
        )
    )
    drafts = event_stream(count)
    print(f"Enrichment throughput (one process, {count:,} events, 10% crawlers)")
    for label in ("first pass (cold caches)", "second pass (warm caches)"):
        started = time.process_time()
        results = enricher.enrich_many(drafts)
        elapsed = time.process_time() - started
        each = elapsed * 1e6 / count
        print(f"  {label:26s} {count / elapsed:10,.0f} events/s  ({each:.1f} µs each, CPU time)")
    humans = sum(1 for r in results if getattr(r, "bot_class", None) == "human")
    sources: defaultdict[str, int] = defaultdict(int)
    for r in results:
        sources[getattr(r, "source", "?")] += 1
    print(f"  humans {humans / count:.1%}; sources {dict(sorted(sources.items()))}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of this process {rss:.0f} MiB (matchers, geo-IP data, corpora)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    started = time.perf_counter()
    warm_up()
    print(f"warm_up: {(time.perf_counter() - started) * 1e3:.0f} ms\n")
    crawler_list_figures(args.folds)
    print()
    matomo_figures()
    print()
    throughput(args.events)


if __name__ == "__main__":
    main()
