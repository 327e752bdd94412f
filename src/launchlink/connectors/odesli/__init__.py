"""Odesli / song.link: links for every service from one service's id (after release)."""

from launchlink.connectors.odesli.client import OdesliClient, OdesliLinks

__all__ = ["OdesliClient", "OdesliLinks"]
