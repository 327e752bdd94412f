"""Visit analytics: who visited, from where — and never counting a bot as a fan."""
