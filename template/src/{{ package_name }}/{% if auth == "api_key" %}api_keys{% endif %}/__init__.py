"""API keys: issued and revoked by an admin command, checked on every request (ADR 0012)."""
