"""In which order a visitor sees a link's service buttons.

Rules, first match wins:

1. the service the fan chose last time (remembered in a cookie);
2. the services that fit the visitor's device (iOS: Apple Music; Android: Spotify, then
   YouTube Music);
3. the operator's configured order for everything else.

Country overrides change where a button goes (``DestinationView.url_for``), never where it
sits: the order is the same for every country.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from launchlink.links.snapshot import DestinationView

DEVICE_FAVOURITES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "ios": ("apple_music",),
        "android": ("spotify", "youtube_music"),
    }
)


def order_destinations(
    destinations: Sequence[DestinationView],
    *,
    remembered_service: str | None,
    device: str,
) -> tuple[DestinationView, ...]:
    """``destinations`` (in configured order) reordered for one visitor."""
    preferred: list[str] = []
    if remembered_service is not None:
        preferred.append(remembered_service)
    preferred.extend(DEVICE_FAVOURITES.get(device, ()))
    if not preferred:
        return tuple(destinations)

    by_service = {destination.service: destination for destination in destinations}
    leading: list[DestinationView] = []
    for service in preferred:
        destination = by_service.pop(service, None)
        if destination is not None:
            leading.append(destination)
    if not leading:
        return tuple(destinations)
    taken = {destination.service for destination in leading}
    return (*leading, *(d for d in destinations if d.service not in taken))
