"""Spotify: OAuth 2 + PKCE, Web API v1."""

from launchlink.connectors.spotify.connector import SpotifyConnector, parse_spotify_url

__all__ = ["SpotifyConnector", "parse_spotify_url"]
