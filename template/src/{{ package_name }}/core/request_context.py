"""The id of the request being served, readable anywhere down the call stack."""

import re
import uuid
from contextvars import ContextVar, Token

REQUEST_ID_HEADER = "X-Request-ID"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Ids from clients are echoed into logs and headers: accept only short, plain tokens.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current_request_id() -> str | None:
    """Request id of the request in flight, or None outside a request."""
    return _request_id.get()


def accept_or_create_request_id(incoming: str | None) -> str:
    """Keep a well-formed incoming id (from a proxy or caller); otherwise create one."""
    if incoming is not None and _VALID_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def bind_request_id(request_id: str) -> Token[str | None]:
    """Make `request_id` current; returns the token that `unbind_request_id` needs."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    """Restore the request id that was current before `bind_request_id`."""
    _request_id.reset(token)
