"""YouTube / YouTube Music: Google OAuth, subscribe + like + playlist items, quota-aware."""

from launchlink.connectors.youtube.connector import YouTubeConnector, parse_youtube_url
from launchlink.connectors.youtube.quota import MemoryQuotaLedger, QuotaLedger, YouTubeQuota

__all__ = [
    "MemoryQuotaLedger",
    "QuotaLedger",
    "YouTubeConnector",
    "YouTubeQuota",
    "parse_youtube_url",
]
