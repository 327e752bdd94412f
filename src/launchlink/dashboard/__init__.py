"""The artist and label dashboard: server-rendered pages (Jinja2 + HTMX) under /dashboard."""
