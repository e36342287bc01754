"""Graceful shutdown (OPS-5): drain the instance before the server stops listening.

On SIGTERM the instance is marked draining at once, so /ready answers 503 and a load
balancer stops sending traffic, while requests are still served. After the drain period
the signal is passed on to the server (uvicorn), which stops accepting connections, lets
in-flight requests finish and runs the lifespan shutdown.
"""

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

import structlog

_logger = structlog.get_logger("shutdown")


class ShutdownState:
    """Whether this instance is shutting down; read by the readiness probe."""

    def __init__(self) -> None:
        self.draining = False


def drain_on_sigterm(state: ShutdownState, *, drain_seconds: float) -> Callable[[], None]:
    """Put a draining step in front of the server's SIGTERM handler.

    Returns the function that puts the previous handler back. Does nothing outside the
    main thread, where Python cannot receive signals (e.g. an app run by a test client).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def pass_on(signum: int, frame: FrameType | None) -> None:
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:  # no server handler: the default action, stop
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        if state.draining:  # a second SIGTERM: the operator insists, stop now
            pass_on(signum, frame)
            return
        state.draining = True
        _logger.info("draining", drain_seconds=drain_seconds)
        # Signal handlers run between bytecodes; scheduling through the loop is safe.
        loop.call_soon_threadsafe(loop.call_later, drain_seconds, pass_on, signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore
