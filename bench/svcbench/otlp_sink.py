"""A stand-in OpenTelemetry collector: takes OTLP/HTTP trace exports and counts them.

The traced service exports its spans here (``POST /v1/traces``, protobuf), so the
benchmark measures the export as shipped (batching, encoding, one HTTP request per
batch) without a collector of its own to install. Every export is answered 200 with an
empty ``ExportTraceServiceResponse`` and counted: requests, bytes and spans, so the report
can show that the spans really left the service. The spans are counted by walking the
protobuf wire format (three levels of length-delimited fields), without a protobuf
library: the benchmark's own environment has none.
"""

from __future__ import annotations

import contextlib
import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRACES_PATH = "/v1/traces"
#: Largest export accepted (the SDK's batches of 512 spans are far smaller).
MAX_BODY_BYTES = 64 * 1024 * 1024
# Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5
# Field numbers: ExportTraceServiceRequest.resource_spans, ResourceSpans.scope_spans,
# ScopeSpans.spans (opentelemetry/proto/trace/v1/trace.proto).
_RESOURCE_SPANS = 1
_SCOPE_SPANS = 2
_SPANS = 2


@dataclass(frozen=True)
class SinkCounts:
    """What the sink received so far."""

    requests: int = 0
    #: Bytes of the request bodies as sent (compressed, if the exporter compressed).
    bytes: int = 0
    spans: int = 0
    #: Requests whose body was not a readable export (counted, answered 400).
    rejected: int = 0


class OtlpSink:
    """A threaded HTTP server on 127.0.0.1 that accepts ``POST /v1/traces``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = SinkCounts()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="otlp-sink", daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The full traces URL to give the exporter."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{TRACES_PATH}"

    @property
    def counts(self) -> SinkCounts:
        """A snapshot of the counts."""
        with self._lock:
            return self._counts

    def record(self, *, size: int, spans: int | None) -> None:
        """Count one export (``spans`` None: the body was unreadable)."""
        with self._lock:
            counts = self._counts
            if spans is None:
                self._counts = SinkCounts(
                    counts.requests + 1, counts.bytes + size, counts.spans, counts.rejected + 1
                )
            else:
                self._counts = SinkCounts(
                    counts.requests + 1, counts.bytes + size, counts.spans + spans, counts.rejected
                )

    def start(self) -> None:
        """Serve in a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def running_sink() -> Iterator[OtlpSink]:
    """Run an OtlpSink for the duration of the block."""
    sink = OtlpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


def _handler_for(sink: OtlpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the exporter reuses its connection

        def do_POST(self) -> None:
            """Count one export and answer it."""
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != TRACES_PATH:
                self._answer(HTTPStatus.NOT_FOUND)
                return
            if not 0 <= length <= MAX_BODY_BYTES:
                sink.record(size=0, spans=None)
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                self.close_connection = True  # the body was not read
                return
            body = self.rfile.read(length)
            spans = count_spans(body, self.headers.get("Content-Encoding", ""))
            sink.record(size=length, spans=spans)
            self._answer(HTTPStatus.OK if spans is not None else HTTPStatus.BAD_REQUEST)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            """Log nothing: one line per export would only fill the terminal."""

    return Handler


def count_spans(body: bytes, content_encoding: str = "") -> int | None:
    """Count the spans of an ``ExportTraceServiceRequest``; None if it cannot be read."""
    try:
        data = gzip.decompress(body) if content_encoding.strip().lower() == "gzip" else body
        return sum(
            1
            for resource_spans in _length_delimited(memoryview(data), _RESOURCE_SPANS)
            for scope_spans in _length_delimited(resource_spans, _SCOPE_SPANS)
            for _ in _length_delimited(scope_spans, _SPANS)
        )
    except (ValueError, IndexError, OSError, EOFError):
        return None


def _length_delimited(data: memoryview, wanted: int) -> Iterator[memoryview]:
    """Yield the values of field ``wanted`` (length-delimited) of one encoded message."""
    position = 0
    end = len(data)
    while position < end:
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            _, position = _varint(data, position)
        elif wire_type == _FIXED64:
            position += 8
        elif wire_type == _FIXED32:
            position += 4
        elif wire_type == _LENGTH_DELIMITED:
            length, position = _varint(data, position)
            if position + length > end:
                raise ValueError("truncated field")
            if number == wanted:
                yield data[position : position + length]
            position += length
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
    if position != end:
        raise ValueError("truncated message")


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
