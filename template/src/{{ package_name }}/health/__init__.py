"""Liveness and readiness probes (OPS-1)."""
