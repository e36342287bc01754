"""A scripted HTTP/1.1 server on 127.0.0.1, for the tests of outbound HTTP calls.

It runs on the test's event loop. Each request it receives takes the next step of
`script` (the default answer, 200, once the script is used up): an `Answer` (a status,
headers, and perhaps an event to wait for first) or `STALL`, which reads the request and
never answers. Every request is noted
in `requests`. `close()` (or leaving `async with`) ends every connection and handler,
each step bounded in time.
"""

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Answer:
    """A response to send."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: Answer only once this is set (the test decides when).
    when: asyncio.Event | None = None


#: Read the request, answer nothing, keep the connection open.
STALL: Final = "stall"

Step = Answer | str


@dataclass(frozen=True)
class SeenRequest:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]


class Upstream:
    """The server; its address is `url(path)` once entered."""

    def __init__(self, *script: Step) -> None:
        self.script: list[Step] = list(script)
        self.requests: list[SeenRequest] = []
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    def url(self, path: str = "/") -> str:
        """The URL of `path` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop listening; end every connection and handler."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        handlers = list(self._handlers)
        for handler in handlers:
            handler.cancel()
        if handlers:
            async with asyncio.timeout(_TIMEOUT_SECONDS):
                await asyncio.gather(*handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            # The client may go away at any time: then there is nothing left to answer.
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                while request := await self._read_request(reader):
                    self.requests.append(request)
                    step = self.script.pop(0) if self.script else Answer()
                    if step == STALL:
                        await asyncio.Event().wait()  # until close() cancels it
                    assert isinstance(step, Answer)
                    if step.when is not None:
                        await step.when.wait()
                    await self._write_answer(writer, step, with_body=request.method != "HEAD")
        finally:
            writer.transport.abort()
            if task is not None:
                self._handlers.discard(task)

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> SeenRequest | None:
        request_line = await reader.readline()
        if not request_line:
            return None
        method, path, _ = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in {b"\r\n", b"\n", b""}:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        await reader.readexactly(int(headers.get("content-length", "0")))
        return SeenRequest(method=method, path=path, headers=headers)

    @staticmethod
    async def _write_answer(
        writer: asyncio.StreamWriter, answer: Answer, *, with_body: bool
    ) -> None:
        body = b"{}"
        head = [f"HTTP/1.1 {answer.status} Scripted", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in answer.headers.items()]
        # A HEAD answer announces the body's length but sends no body (RFC 9110, 9.3.2).
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if with_body:
            writer.write(body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
