"""Outward integrations of a workspace: webhooks (signed, retried from the outbox) and
the streaming-service apps it brings."""
