"""The generated service with some of its middleware removed (per-middleware cost).

``BENCH_DROP_MIDDLEWARE`` names the classes to drop, comma-separated, or ``*`` for all.
Served with ``uvicorn variant_app:create_app --factory --app-dir bench/apps``; the
generated package is imported under ``BENCH_PACKAGE`` (default ``example_service``).
The template is not touched: the app is built by its own factory, then its middleware
list is filtered and the stack rebuilt on the first request.
"""

import importlib
import os
from typing import Any


def create_app() -> Any:  # noqa: ANN401 - the generated package's FastAPI subclass
    """Build the generated app, then drop the middleware named in the environment."""
    package = os.environ.get("BENCH_PACKAGE", "example_service")
    app = importlib.import_module(f"{package}.main").create_app()
    drop = {name.strip() for name in os.environ.get("BENCH_DROP_MIDDLEWARE", "").split(",")}
    app.user_middleware = [
        entry for entry in app.user_middleware if "*" not in drop and entry.cls.__name__ not in drop
    ]
    # Starlette builds the stack lazily from user_middleware when this is None.
    app.middleware_stack = None
    return app
