"""launchlink: one link from pre-save to smart link."""
