"""Microseconds per classify() call, cold (every user agent new) and warm (cache hits).

    .venv/bin/python bench/classify.py [--count N]

Cold user agents are real fan and bot shapes made unique with a varying build number, so
each call pays the full matcher cost, as a fan with a never-seen in-app build would.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from launchlink.kit.useragent import classify, classify_cache_clear, warm_up

ROOT = Path(__file__).resolve().parent.parent

FAN_SHAPES = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Instagram 337.0.3.23.{n} (iPhone15,3; iOS 17_5; en_US; en; "
    "scale=3.00; 1290x2796; 614{n})",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.{n} Mobile Safari/537.36 trill_33{n} "
    "JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill BytedanceWebview/d8a21c6",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{n} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.{n} Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.{n}.0 Safari/537.36",
]


def per_call_us(user_agents: list[str]) -> float:
    started = time.perf_counter()
    for user_agent in user_agents:
        classify(user_agent)
    return (time.perf_counter() - started) / len(user_agents) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    count = parser.parse_args().count

    started = time.perf_counter()
    warm_up()
    print(f"warm_up (build matchers): {(time.perf_counter() - started) * 1e3:.0f} ms")

    fans = [FAN_SHAPES[i % len(FAN_SHAPES)].format(n=i) for i in range(count)]
    crawler_list = json.loads((ROOT / "tests/data/crawler-user-agents.json").read_text("utf-8"))
    bots = [ua for entry in crawler_list for ua in entry["instances"]]

    classify_cache_clear()
    print(f"cold, fans (unique):      {per_call_us(fans):8.1f} µs/call  n={len(fans)}")
    classify_cache_clear()
    print(f"cold, crawler list:       {per_call_us(bots):8.1f} µs/call  n={len(bots)}")

    hot = fans[:500]
    rng = random.Random(7)
    stream = [rng.choice(hot) for _ in range(count * 4)]
    per_call_us(hot)  # fill the cache
    print(f"warm, repeated fans:      {per_call_us(stream):8.2f} µs/call  n={len(stream)}")


if __name__ == "__main__":
    main()
