"""Deezer: its own OAuth variant, token in the query, errors inside HTTP 200."""

from launchlink.connectors.deezer.connector import DeezerConnector, parse_deezer_url

__all__ = ["DeezerConnector", "parse_deezer_url"]
