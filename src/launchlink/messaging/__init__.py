"""Messages to fans: building and sending emails as subscribers of pre-save events.

``service.py`` (the senders), ``emails.py`` (building), ``subscribers.py`` (what answers
which event; ``register`` is called by ``launchlink.bootstrap``), ``tasks.py`` (the
release-day reminder loop). Pre-save code never sends anything itself: it emits events.
"""
