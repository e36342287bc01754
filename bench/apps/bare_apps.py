"""Reference apps: the floor a generated service is compared with.

Served by the generated project's own uvicorn (same FastAPI, Starlette and uvicorn
versions), with the same uvicorn options as the service.
"""

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

fastapi_app = FastAPI()


@fastapi_app.get("/health")
async def fastapi_health() -> dict[str, str]:
    """Answer with the same body as the generated service's liveness probe."""
    return {"status": "ok"}


async def starlette_health(_: Request) -> JSONResponse:
    """Answer with the same body as the generated service's liveness probe."""
    return JSONResponse({"status": "ok"})


starlette_app = Starlette(routes=[Route("/health", starlette_health)])


@contextlib.asynccontextmanager
async def _connection_pool(app: FastAPI) -> AsyncIterator[None]:
    # The service's pool size (10) plus its overflow (10): the same number of connections.
    app.state.pool = await asyncpg.create_pool(
        host="127.0.0.1", user="postgres", database=os.environ["BENCH_DB_NAME"], max_size=20
    )
    try:
        yield
    finally:
        await app.state.pool.close()


#: The floor for a database read: FastAPI and one asyncpg query, no ORM, no middleware.
asyncpg_app = FastAPI(lifespan=_connection_pool)


@asyncpg_app.get("/health")
async def asyncpg_app_health() -> dict[str, str]:
    """Answer the readiness poll of the benchmark."""
    return {"status": "ok"}


@asyncpg_app.get("/api/v1/items/{item_id}")
async def asyncpg_get_item(item_id: uuid.UUID, request: Request) -> dict[str, Any]:
    """Read one item by primary key, as the service's GET by id does."""
    row = await request.app.state.pool.fetchrow(_SELECT_ITEM, item_id)
    if row is None:
        raise HTTPException(status_code=404)
    return dict(row)


_SELECT_ITEM = (
    "SELECT id, name, description, quantity, created_at, updated_at FROM items WHERE id = $1"
)
