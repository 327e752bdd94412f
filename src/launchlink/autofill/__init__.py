"""Link auto-fill ("our own song.link") and pre-launch metadata checks."""
