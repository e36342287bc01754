"""A TCP proxy the test controls, to put the service through real database outages.

The service connects to the proxy instead of PostgreSQL. The test then switches modes:

- `forward`: bytes flow both ways, as if the proxy were not there;
- `refuse`: the server is down: the listener and every open connection are closed, so
  pooled connections break and new connects are refused;
- `blackhole`: a network partition: every TCP connection stays open and new ones are
  accepted, but no byte moves in either direction. Bytes sent meanwhile are held back and
  delivered, in order, when the partition heals (as TCP retransmission would do);
- `restore`: back to `forward`, on the same port.

Everything runs on the test's event loop; `close()` (or leaving `async with`) ends every
task and socket, each step bounded in time.
"""

import asyncio
import enum
from types import TracebackType
from typing import Self

_CHUNK_BYTES = 64 * 1024


class ProxyMode(enum.StrEnum):
    """What the proxy does with connections and bytes."""

    FORWARD = "forward"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"


class _Link:
    """One client connection and its upstream connection, once that is open."""

    def __init__(self, client: asyncio.StreamWriter) -> None:
        self.client = client
        self.upstream: asyncio.StreamWriter | None = None

    def close(self) -> None:
        """End both sides in order (each has already sent its end of stream)."""
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.close()

    def abort(self) -> None:
        """End both sides at once, as a dead server or a reset connection does."""
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()


class TcpProxy:
    """Listens on `host` (an ephemeral port) and relays to `upstream_host:upstream_port`."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        host: str = "127.0.0.1",
        timeout_seconds: float = 5.0,
    ) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.host = host
        self.port = 0
        self.timeout_seconds = timeout_seconds
        self.mode = ProxyMode.FORWARD
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: dict[asyncio.Task[None], _Link] = {}
        self._held_chunks = 0
        self._nothing_held = asyncio.Event()
        self._nothing_held.set()

    @property
    def open_connections(self) -> int:
        """Client connections currently open through the proxy."""
        return len(self._links)

    async def __aenter__(self) -> Self:
        await self._listen()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def refuse(self) -> None:
        """Act as a stopped server: drop every connection and refuse new ones."""
        self.mode = ProxyMode.REFUSE
        await self._stop_listening()
        await self._drop_links()

    async def blackhole(self) -> None:
        """Act as a network partition: keep connections open, move no bytes."""
        self.mode = ProxyMode.BLACKHOLE
        self._flowing.clear()

    async def restore(self) -> None:
        """Forward again (on the same port) and deliver every byte held back meanwhile."""
        if self._server is None:
            await self._listen()
        self.mode = ProxyMode.FORWARD
        self._flowing.set()
        async with asyncio.timeout(self.timeout_seconds):
            await self._nothing_held.wait()

    async def close(self) -> None:
        """Stop listening and end every connection and task."""
        self._flowing.set()
        await self._stop_listening()
        await self._drop_links()

    async def _listen(self) -> None:
        # The first start picks a free port; a restart after `refuse` takes the same one.
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    async def _drop_links(self) -> None:
        tasks = list(self._links)
        for task, link in self._links.items():
            link.abort()
            task.cancel()
        if tasks:
            async with asyncio.timeout(self.timeout_seconds):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or self.mode is ProxyMode.REFUSE:
            writer.transport.abort()
            return
        link = _Link(writer)
        self._links[task] = link
        self.accepted += 1
        try:
            # In a partition the connection is accepted but nothing reaches the server.
            await self._flowing.wait()
            async with asyncio.timeout(self.timeout_seconds):
                upstream_reader, link.upstream = await asyncio.open_connection(
                    self.upstream_host, self.upstream_port
                )
            async with asyncio.TaskGroup() as pumps:
                pumps.create_task(self._pump(reader, link.upstream))
                pumps.create_task(self._pump(upstream_reader, writer))
        except (OSError, TimeoutError, ExceptionGroup):
            # A reset or an unreachable server ends this connection, and only this one.
            link.abort()
        else:
            link.close()
        finally:
            del self._links[task]

    async def _pump(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        while True:
            chunk = await source.read(_CHUNK_BYTES)
            if self._flowing.is_set():
                await self._deliver(chunk, target)
            else:
                # Held back by the partition; `restore` waits until it is delivered.
                self._held_chunks += 1
                self._nothing_held.clear()
                try:
                    await self._flowing.wait()
                    await self._deliver(chunk, target)
                finally:
                    self._held_chunks -= 1
                    if not self._held_chunks:
                        self._nothing_held.set()
            if not chunk:
                return

    @staticmethod
    async def _deliver(chunk: bytes, target: asyncio.StreamWriter) -> None:
        if chunk:
            target.write(chunk)
            await target.drain()
        else:
            # The sender closed its side: pass the end of stream on, after its last byte.
            target.write_eof()
