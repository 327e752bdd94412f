"""In-app browsers (Instagram, TikTok, Facebook...): detect them to offer the rescue path."""

from __future__ import annotations

from launchlink.kit.useragent import classify

_NAMES = {
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "facebook": "Facebook",
    "messenger": "Messenger",
    "snapchat": "Snapchat",
    "twitter": "X",
    "linkedin": "LinkedIn",
    "pinterest": "Pinterest",
    "line": "LINE",
    "wechat": "WeChat",
    "telegram": "Telegram",
}


def in_app_browser(user_agent: str | None) -> str | None:
    """The app's display name when the page is open in an app's built-in browser."""
    found = classify(user_agent).in_app
    if found is None:
        return None
    return _NAMES.get(found.lower(), found.replace("_", " ").title())
