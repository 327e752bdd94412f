"""Operating launchlink: health, metrics, logs, the doctor, processes, static export."""
