"""Device class (phone, tablet, desktop, TV…) and operating system from a user agent.

Plain, ordered regular expressions rather than ua-parser's OS and device rules: those
would add ~18 MiB of compiled patterns to every process for a finer answer (OS versions,
phone models) than a label's dashboard shows. Cached per user agent.

Tablets are what the user agent admits to: an iPad in its default "desktop website" mode
sends a Mac user agent and counts as a desktop, as it does on the smart-link page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

DeviceClass = Literal["mobile", "tablet", "desktop", "tv", "console", "wearable", "other"]

_CACHE_SIZE = 8192
_MAX_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Platform:
    device_class: DeviceClass
    os: str | None


# First match wins. Order matters: Windows Phone says "Android" and "iPhone" too; Android
# TVs and tablets say "Linux"; iPadOS says "like Mac OS X".
_OS_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("Windows Phone", r"Windows Phone|IEMobile|WPDesktop"),
        ("HarmonyOS", r"HarmonyOS|OpenHarmony"),
        ("KaiOS", r"KAIOS|KaiOS"),
        ("iPadOS", r"\biPad\b"),
        ("iOS", r"iPhone|iPod|\biOS\b|CPU OS \d|CFNetwork/.*Darwin/|AppleTV|tvOS|watchOS"),
        ("ChromeOS", r"\bCrOS\b"),
        ("Fire OS", r"\bKF[A-Z]{2,4}\b|\bSilk/|\bAFT[A-Z0-9]+"),
        ("Android", r"Android|\bAdr \d|Dalvik/"),
        ("Tizen", r"Tizen"),
        ("webOS", r"Web0S|webOS|hpwOS"),
        ("BlackBerry", r"BlackBerry|BB10|RIM Tablet"),
        ("Symbian", r"Symbian|SymbOS|Series ?60|\bS60\b"),
        ("Windows", r"Windows|Win(?:32|64|9[58x]|NT)\b"),
        ("macOS", r"Macintosh|Mac OS X|Mac_PowerPC|Darwin"),
        ("PlayStation", r"PlayStation|PS[345]\b"),
        ("Xbox", r"Xbox"),
        ("Nintendo", r"Nintendo"),
        ("Linux", r"Linux|X11|Ubuntu|Fedora|Debian"),
    )
)

_CONSOLE = re.compile(r"PlayStation|\bPS[345]\b|Xbox|Nintendo")
_TV = re.compile(
    r"SmartTV|SMART-TV|Smart-?TV|\bTV\b|HbbTV|CE-HTML|NETTV|NetCast|Web0S|BRAVIA|\bAFT[A-Z0-9]+|"
    r"CrKey|Roku|AppleTV|tvOS|GoogleTV|Google TV|Android TV|\bDTV\b|Tizen.*TV|Viera|AQUOS|"
    r"\bSTB\b|Set-?Top|OMI/|Opera TV|Espial|ANTGalio|\bwv-atv\b",
    re.IGNORECASE,
)
_WEARABLE = re.compile(r"watchOS|Apple Watch|\bWatch\b|\bWear ?OS\b|SmartWatch", re.IGNORECASE)
_TABLET = re.compile(
    r"\biPad\b|\bTablet\b|\bTab\b|\bKindle\b|\bSilk/|\bKF[A-Z]{2,4}\b|\bPlayBook\b|"
    r"RIM Tablet|\bSM-[TXP]\d|\bGT-P\d|\bGT-N[58]\d|\bSCH-I[89]\d{2}\b|\bMediaPad\b|"
    r"\bMatePad\b|\bLenovo TB|\bTB-\d|\bNexus (?:7|9|10)\b|\bPixel C\b|\bXoom\b|\bA500\b|"
    r"\bNook\b|\bBNTV\d|\bLIFETAB\b"
)
_MOBILE = re.compile(
    r"\bMobile\b|\bMobi\b|iPhone|iPod|Windows Phone|IEMobile|BlackBerry|BB10|Symbian|"
    r"\bS60\b|MIDP|CLDC|Opera Mini|UP\.Browser|NetFront|KAIOS|KaiOS|\bWAP\b|Obigo|MAUI|"
    r"DoCoMo|Dalvik/|\bAdr \d",
    re.IGNORECASE,
)
_DESKTOP = re.compile(
    r"Windows NT|Windows (?:98|95|XP|ME|2000)|Win(?:32|64)\b|Macintosh|Mac OS X|Mac_PowerPC|"
    r"X11|CrOS|Linux (?:x86_64|i[3-6]86|amd64)|Ubuntu|Fedora|Debian|FreeBSD|OpenBSD"
)


def describe_platform(user_agent: str | None) -> Platform:
    """Device class and OS family; cached per user agent."""
    if not user_agent:
        return _UNKNOWN
    return _describe(user_agent[:_MAX_LENGTH])


_UNKNOWN = Platform("other", None)


@lru_cache(maxsize=_CACHE_SIZE)
def _describe(user_agent: str) -> Platform:
    os_name = next((name for name, rule in _OS_RULES if rule.search(user_agent)), None)
    return Platform(_device_class(user_agent, os_name), os_name)


def _device_class(user_agent: str, os_name: str | None) -> DeviceClass:
    if _CONSOLE.search(user_agent):
        return "console"
    if _TV.search(user_agent):
        return "tv"
    if _WEARABLE.search(user_agent):
        return "wearable"
    if _TABLET.search(user_agent):
        return "tablet"
    if os_name == "Android":
        # Chrome on Android tablets leaves "Mobile" out (Google's own convention).
        return "mobile" if _MOBILE.search(user_agent) else "tablet"
    if _MOBILE.search(user_agent) or os_name in ("iOS", "KaiOS", "Symbian", "Windows Phone"):
        return "mobile"
    if _DESKTOP.search(user_agent) or os_name in ("Windows", "macOS", "ChromeOS", "Linux"):
        return "desktop"
    return "other"
