"""The service registry: what launchlink knows about each streaming service and store."""

from launchlink.platforms.icons import icon_svg, platform_icon_svg
from launchlink.platforms.registry import (
    MAX_DESTINATION_URL_LENGTH,
    PLATFORMS,
    CallToAction,
    DestinationUrlError,
    Kind,
    ParsedServiceUrl,
    Platform,
    UnknownPlatform,
    UrlPattern,
    get_platform,
    parse_service_url,
    platform_for_host,
    validate_destination_url,
)

__all__ = [
    "MAX_DESTINATION_URL_LENGTH",
    "PLATFORMS",
    "CallToAction",
    "DestinationUrlError",
    "Kind",
    "ParsedServiceUrl",
    "Platform",
    "UnknownPlatform",
    "UrlPattern",
    "get_platform",
    "icon_svg",
    "parse_service_url",
    "platform_for_host",
    "platform_icon_svg",
    "validate_destination_url",
]
