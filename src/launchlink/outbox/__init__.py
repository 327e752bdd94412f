"""The transactional outbox behind ``launchlink.events``: events are rows written with the
change they report; dispatchers deliver them to subscribers (docs/architecture.md)."""
