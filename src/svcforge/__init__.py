"""svcforge: generate production-ready FastAPI services from a Copier template."""

__version__ = "0.2.0"
