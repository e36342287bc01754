"""The load test of the service (QA-3): `make loadtest`, or `uv run locust` for its web UI."""
