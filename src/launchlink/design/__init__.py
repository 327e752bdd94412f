"""The look of a link's fan pages: theme, stored artwork, the Stories image."""
