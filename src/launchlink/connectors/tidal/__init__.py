"""TIDAL: OAuth 2.1 + PKCE, JSON:API v2."""

from launchlink.connectors.tidal.connector import TidalConnector, parse_tidal_url

__all__ = ["TidalConnector", "parse_tidal_url"]
