"""SoundCloud: OAuth 2.1 + PKCE, single-use refresh tokens, follow + like."""

from launchlink.connectors.soundcloud.connector import (
    SoundCloudConnector,
    canonical_soundcloud_url,
)

__all__ = ["SoundCloudConnector", "canonical_soundcloud_url"]
