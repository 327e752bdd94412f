"""Platform connectors: one interface (``base.Connector``), one package per service."""
