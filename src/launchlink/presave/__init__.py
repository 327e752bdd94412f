"""Pre-save: the pre-release life of a link (campaigns, fans, grants, consents, reminders).

Public entry points for other domains:

* :mod:`launchlink.presave.service` — campaign settings, the pre-save actions, revoke,
  GDPR export/delete, and what the fulfilment engine calls (``grant_tokens``,
  ``store_refreshed_tokens``, ``forget_tokens_after_fulfilment``, ``transition``).
* :mod:`launchlink.presave.web` — the fan-facing routes (``/presave``, ``/oauth``, ``/revoke``).
* :mod:`launchlink.presave.endpoints` — the JSON API.
"""
