"""Messaging: what launchlink tells fans, over which channel, and when (docs/messaging.md).

``service.py`` (the senders: :class:`Messenger` answers pre-save events, and
:class:`ReminderSender`), ``emails.py`` (building), ``subscribers.py`` (what answers which
event; ``register`` is called by ``launchlink.bootstrap``), ``tasks.py`` (the release-day
reminder loop), ``channels/`` (delivery channels). Pre-save code never sends anything
itself: it emits events, committed with the change, and messaging answers them.
"""
