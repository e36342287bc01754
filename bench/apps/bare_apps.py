"""Reference apps for /health: the floor a generated service is compared with.

Served by the generated project's own uvicorn (same FastAPI, Starlette and uvicorn
versions), with the same uvicorn options as the service.
"""

from fastapi import FastAPI
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
