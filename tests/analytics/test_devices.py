from __future__ import annotations

import json

import pytest

from launchlink.analytics.devices import describe_platform


@pytest.mark.parametrize(
    ("user_agent", "device_class", "os"),
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "mobile",
            "iOS",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            "tablet",
            "iPadOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/125.0.0.0 Mobile Safari/537.36",
            "mobile",
            "Android",
        ),
        # Chrome on an Android tablet leaves "Mobile" out.
        (
            "Mozilla/5.0 (Linux; Android 13; Lenovo TB-J606F) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/126.0.0.0 Safari/537.36",
            "tablet",
            "Android",
        ),
        (
            "Mozilla/5.0 (Android 14; Tablet; rv:127.0) Gecko/127.0 Firefox/127.0",
            "tablet",
            "Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Silk/126.2.1 like Chrome/126.0.6478.71 Safari/537.36",
            "tablet",
            "Fire OS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "desktop",
            "Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Safari/605.1.15",
            "desktop",
            "macOS",
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36",
            "desktop",
            "ChromeOS",
        ),
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
            "desktop",
            "Linux",
        ),
        (
            "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "7.0 TV Safari/537.36",
            "tv",
            "Tizen",
        ),
        (
            "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko)",
            "console",
            "PlayStation",
        ),
        (None, "other", None),
    ],
)
def test_device_class_and_os(user_agent: str | None, device_class: str, os: str | None) -> None:
    platform = describe_platform(user_agent)
    assert (platform.device_class, platform.os) == (device_class, os)


def test_device_classes_agree_with_fake_useragents_labels() -> None:
    from importlib.resources import files

    text = files("fake_useragent").joinpath("data", "browsers.jsonl").read_text("utf-8")
    rows = {row["useragent"]: row["type"] for row in map(json.loads, text.splitlines())}
    agree = sum(1 for ua, kind in rows.items() if describe_platform(ua).device_class == kind)
    assert agree / len(rows) >= 0.99
    tablets = [ua for ua, kind in rows.items() if kind == "tablet"]
    assert tablets
    assert all(describe_platform(ua).device_class == "tablet" for ua in tablets)
