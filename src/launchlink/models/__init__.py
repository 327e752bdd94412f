"""ORM tables, one module per domain; importing this package registers them all."""

from launchlink.models.accounts import ApiKey, Membership, User, Workspace
from launchlink.models.catalog import Artist, Release, ReleaseArtist, Track
from launchlink.models.links import CustomDomain, Destination, Link, LinkChange

__all__ = [
    "ApiKey",
    "Artist",
    "CustomDomain",
    "Destination",
    "Link",
    "LinkChange",
    "Membership",
    "Release",
    "ReleaseArtist",
    "Track",
    "User",
    "Workspace",
]
