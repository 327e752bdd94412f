"""The web kit shared by fan pages and the dashboard: templates, static files, forms,
CSRF and security headers (security.py), error pages."""
