"""svcforge test suite."""
