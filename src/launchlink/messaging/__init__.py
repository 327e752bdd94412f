"""Messaging: what launchlink tells fans, over which channel, and when (docs/messaging.md)."""
