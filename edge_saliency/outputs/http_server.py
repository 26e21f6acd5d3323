"""The http output's server and request handler: the endpoints (page, MJPEG feeds, status, events, metrics), the
client limits and the token check (constant-time; request logs mask it)."""
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from ..capture.uri import mask_url
from .http_state import BOUNDARY, FEEDS, SEND_BUFFER, STATUS_EVERY_S, Feed
from .live_page import LOGIN_PAGE, PAGE
from .prometheus import CONTENT_TYPE

log = logging.getLogger("edge_saliency.outputs")



class _Server(ThreadingHTTPServer):
    """One thread per connection, at most ``limit`` connections at once (more are closed at once)."""

    daemon_threads = True  # a client thread never keeps the run alive
    allow_reuse_address = True
    limit = 64
    refused: Any = None

    def __init__(self, address: Tuple[str, int], handler: Any) -> None:
        self._slots = threading.BoundedSemaphore(self.limit)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            if self.refused is not None:
                self.refused()
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handler(sink: Any) -> Any:
    """A request handler class bound to ``sink`` (the HttpSink; not imported: the sink imports this module)."""
    class Handler(_Handler):
        pass

    Handler.sink = sink
    Handler.timeout = sink.options.client_timeout  # every socket operation: a stalled client times out
    return Handler


class _Handler(BaseHTTPRequestHandler):
    sink: Any  # the HttpSink it serves (see _handler)
    server_version = "edge-saliency"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        log.debug("http %s: %s", self.address_string(), mask_url(format % args))  # ?token= masked

    # -- routing -------------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 (the base class's name)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        offered = query.get("token", []) + self._header_tokens()
        if not self.sink.authorized(offered):
            self.sink.state.count("unauthorized")
            if parts.path == "/":
                self._send(401, LOGIN_PAGE.encode("utf-8"), "text/html; charset=utf-8")
            else:
                self._send(401, b"token required: add ?token=... or 'Authorization: Bearer ...'\n", "text/plain",
                           {"WWW-Authenticate": 'Bearer realm="edge-saliency"'})
            return
        if "token" in query and parts.path == "/":  # keep it in a cookie, not in the address bar
            cookie = "{}={}; Path=/; HttpOnly; SameSite=Strict".format(self.sink.cookie_name, query["token"][0])
            self._send(303, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})
            return
        stream = self._stream(query)
        if stream is None:
            return
        if parts.path == "/":
            self._send(200, PAGE.encode("utf-8"), "text/html; charset=utf-8")
        elif parts.path in FEEDS:
            self._mjpeg(self.sink.feeds[(stream, FEEDS[parts.path])])
        elif parts.path == "/events":
            self._events()
        elif parts.path == "/status.json":
            self._send(200, json.dumps(self.sink.status()).encode("utf-8"), "application/json")
        elif parts.path == "/metrics":
            self._send(200, self.sink.metrics().encode("utf-8"), CONTENT_TYPE)
        else:
            self._send(404, b"not found: / /stream.mjpg /map.mjpg /events /status.json /metrics\n", "text/plain")

    def _header_tokens(self) -> List[str]:
        tokens = []
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            tokens.append(auth[7:].strip())
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.sink.cookie_name:
                tokens.append(value)
        return tokens

    def _stream(self, query: Dict[str, List[str]]) -> Optional[int]:
        text = query.get("stream", ["0"])[0]
        indices = [s.index for s in self.sink.streams]
        if not text.isdigit() or int(text) not in indices:
            self._send(404, "no stream {!r}: this run has streams {}\n".format(text, indices).encode("utf-8"),
                       "text/plain")
            return None
        return int(text)

    def _send(self, code: int, body: bytes, content_type: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    # -- streams ---------------------------------------------------------------------------------------------
    def _open_stream(self, content_type: str) -> bool:
        if not self.sink.enter():
            self._send(503, b"too many clients; try again later\n", "text/plain", {"Retry-After": "5"})
            return False
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        return True

    def _keep_sending(self, send: Any) -> None:
        """Run ``send`` until the run ends or the client leaves; a client that stalls is dropped."""
        try:
            send()
        except socket.timeout:
            self.sink.state.count("clients_dropped")
            log.info("http: dropped client %s: it stopped reading for %.0f s", self.address_string(),
                     self.sink.options.client_timeout)
        except (BrokenPipeError, ConnectionError):
            pass  # the client went away
        finally:
            self.sink.leave()

    def _mjpeg(self, feed: Feed) -> None:
        if not self._open_stream("multipart/x-mixed-replace; boundary=" + BOUNDARY):
            return
        with feed.cond:
            feed.watchers += 1

        def send() -> None:
            seq = 0
            while not feed.closed:
                seq, jpeg = feed.newer(seq, 1.0)
                if jpeg and not feed.closed:
                    head = "--{}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n".format(BOUNDARY, len(jpeg))
                    self.wfile.write(head.encode("ascii") + jpeg + b"\r\n")
        try:
            self._keep_sending(send)
        finally:
            with feed.cond:
                feed.watchers -= 1

    def _events(self) -> None:
        if not self._open_stream("text/event-stream"):
            return
        state = self.sink.state

        def send() -> None:
            self.wfile.write(b"retry: 2000\n\n")
            seq, sent_status = state.record_seq, 0.0
            while not state.closed:
                seq, lines = state.since(seq, STATUS_EVERY_S)
                chunks = ["data: {}\n\n".format(line) for line in lines]
                if time.monotonic() - sent_status >= STATUS_EVERY_S:
                    chunks.append("event: status\ndata: {}\n\n".format(json.dumps(self.sink.status())))
                    sent_status = time.monotonic()
                if chunks:
                    self.wfile.write("".join(chunks).encode("utf-8"))
        self._keep_sending(send)


def mjpeg_frames(response: Any) -> Any:
    """The JPEG payloads of a multipart MJPEG response (a binary file-like such as ``http.client``'s), one by
    one, as this server and most cameras send them (a ``Content-Length`` per part); for clients, tests and
    benchmarks."""
    while True:
        line = response.readline()
        if not line:
            return
        if not line.startswith(b"--"):
            continue
        length = None
        while True:
            header = response.readline()
            if not header:
                return
            if header in (b"\r\n", b"\n"):
                break
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length is None:
            raise ValueError("an MJPEG part without Content-Length")
        data = response.read(length)
        if len(data) < length:
            return
        yield data
