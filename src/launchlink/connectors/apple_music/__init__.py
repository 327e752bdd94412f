"""Apple Music: developer token (ES256) + Music-User-Token from MusicKit JS."""

from launchlink.connectors.apple_music.connector import AppleMusicConnector, parse_apple_url

__all__ = ["AppleMusicConnector", "parse_apple_url"]
