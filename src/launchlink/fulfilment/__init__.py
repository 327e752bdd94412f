"""Release-day fulfilment: due pre-saves become leased jobs that save the release into
every library it was promised to (see docs/fulfilment.md)."""
