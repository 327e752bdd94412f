"""Links: slugs, destinations and the fan-facing smart-link page."""
