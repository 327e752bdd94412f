"""Artists, releases and their tracks."""
