"""``--output http://HOST:PORT``: watch a headless board from a browser (docs/network-outputs.md).

A small server inside ``run`` (the standard library's ``ThreadingHTTPServer``) serves:

- ``/`` the live page (``live_page.py``): overlay video, the map beside it, live figures, model and source;
- ``/stream.mjpg`` and ``/map.mjpg`` (``?stream=N``): multipart MJPEG of the overlay and of the map alone;
- ``/status.json``: the run, its live figures and the newest per-frame record of every stream;
- ``/events``: server-sent events, one ``data:`` line per frame holding the record ``--jsonl`` writes, plus an
  ``event: status`` about once a second (the status.json figures);
- ``/metrics``: Prometheus text format (frames, drops, per-stage latency histograms, FPS, busy time, up-time).

The pipeline never waits for a client: ``write`` only hands the newest packet to one encoder thread (an older
one not yet encoded is replaced), which renders the views somebody watches (the pipeline renders none for this
output) and JPEG-encodes each frame once for all clients, at most ``max_fps`` frames a second. Each client
thread sends the newest frame when it is ready for one; a client whose send stalls for ``client_timeout``
seconds is dropped; at most ``max_clients`` streams are open at once (more get 503).

Access: with a token (``--output-token``, or generated and printed when the host is not a loopback address),
every request must carry it as ``?token=``, an ``Authorization: Bearer`` header or the cookie the page sets
after ``?token=``; the comparison is constant-time (``hmac.compare_digest``) and request logs mask it.

Long on purpose: one small HTTP server: its endpoints, client limits and token check share the server's state; the
page and the metrics format live in live_page.py and prometheus.py.
"""
import collections
import errno
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

import numpy as np

from .._lazy import require
from ..capture.uri import mask_url
from ..errors import UserError
from ..pipeline.frames import map_view, overlay_small, resize, to_uint8
from ..pipeline.packet import Packet
from .live_page import LOGIN_PAGE, PAGE
from .prometheus import CONTENT_TYPE, Exposition, Histogram
from .sink import OutputOptions, RunInfo, Sink, StreamInfo, frame_record

log = logging.getLogger("edge_saliency.outputs")

LATENCY_STAGES = ("capture", "preprocess", "infer", "postprocess", "total")
BUSY_STAGES = ("capture", "preprocess", "infer", "postprocess", "output")
FEEDS = {"/stream.mjpg": "overlay", "/map.mjpg": "map"}
RECORDS_KEPT = 256  # per-frame records an events client may lag behind before it skips to the newest
SEND_BUFFER = 256 * 1024  # bytes queued per client socket at most: memory is bounded, a stall shows quickly
BOUNDARY = "edgesaliencyframe"
STATUS_EVERY_S = 1.0


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Feed:
    """The newest JPEG of one stream and view; clients wait for a newer one. ``watchers`` says whether
    encoding it is worth the time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.seq = 0
        self.jpeg = b""
        self.watchers = 0
        self.closed = False

    def publish(self, jpeg: bytes) -> None:
        with self.cond:
            self.seq += 1
            self.jpeg = jpeg
            self.cond.notify_all()

    def newer(self, seq: int, timeout: float) -> Tuple[int, bytes]:
        with self.cond:
            self.cond.wait_for(lambda: self.seq != seq or self.closed, timeout)
            return self.seq, self.jpeg

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class LiveState:
    """What the endpoints show, fed by the sink thread: per-frame records, latency histograms, counters."""

    def __init__(self, run: RunInfo, threshold: float) -> None:
        self.run = run
        self.threshold = threshold
        self.lock = threading.Condition()
        self.records: Deque[Tuple[int, str]] = collections.deque(maxlen=RECORDS_KEPT)
        self.record_seq = 0
        self.last: Dict[int, Dict[str, Any]] = {}
        self.latency = {stage: Histogram() for stage in LATENCY_STAGES}
        self.frames: Dict[int, int] = collections.defaultdict(int)
        self.started = time.monotonic()
        self.closed = False
        self._mark: Tuple[float, Dict[str, float]] = (time.monotonic(), {})
        self._rates: Dict[str, float] = {}
        self.counters: Dict[str, int] = collections.Counter()  # see count()

    def count(self, name: str) -> None:
        """One more of: encoded, replaced, clients_dropped, clients_refused, unauthorized, connections_refused."""
        with self.lock:
            self.counters[name] += 1

    def add(self, packet: Packet) -> None:
        record = frame_record(packet, self.threshold)
        line = json.dumps(record, separators=(",", ":"))
        with self.lock:
            self.record_seq += 1
            self.records.append((self.record_seq, line))
            self.last[packet.stream] = record
            self.frames[packet.stream] += 1
            for stage in LATENCY_STAGES:
                if stage in packet.timings:
                    self.latency[stage].observe(packet.timings[stage])
            self.lock.notify_all()

    def since(self, seq: int, timeout: float) -> Tuple[int, List[str]]:
        """Records after ``seq`` (waiting up to ``timeout`` for one); a client too far behind skips ahead."""
        with self.lock:
            self.lock.wait_for(lambda: self.record_seq != seq or self.closed, timeout)
            fresh = [line for number, line in self.records if number > seq]
            return self.record_seq, fresh

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def rates(self, status: Dict[str, Any]) -> Tuple[float, Dict[str, float]]:
        """(frames per second, fraction of the time each stage worked) over the last second or so, from the
        pipeline's cumulative counters."""
        now, busy_s = time.monotonic(), dict(status.get("busy_s", {}), frames=float(status.get("frames", 0)))
        with self.lock:
            then, before = self._mark
            if now - then >= STATUS_EVERY_S or not self._rates:
                span = max(now - then, 1e-6)
                self._rates = {s: max(v - before.get(s, 0.0), 0.0) / span for s, v in busy_s.items()}
                self._mark = (now, busy_s)
            return (round(self._rates.get("frames", 0.0), 2),
                    {s: round(self._rates[s], 3) for s in BUSY_STAGES if s in self._rates})


class HttpSink(Sink):
    """The live view server (see the module docstring)."""

    views = ()  # rendered here, at most max_fps a second and only when watched (see _render)

    def __init__(self, host: str, port: int, options: Optional[OutputOptions] = None) -> None:
        self.options = options or OutputOptions()
        self.options.validate()
        self.host, self.port = host, int(port)
        self.token = self.options.token
        self.generated_token = False
        if self.token is None and not is_loopback(host):
            self.token = secrets.token_urlsafe(16)
            self.generated_token = True
        self.state = LiveState(RunInfo(), self.options.threshold)
        self.streams: List[StreamInfo] = []
        self.feeds: Dict[Tuple[int, str], Feed] = {}
        self.clients = 0
        self._clients_lock = threading.Lock()
        self._pending: Dict[int, Packet] = {}
        self._pending_cond = threading.Condition()
        self._last_sent: Dict[int, float] = {}
        self._server: Optional[ThreadingHTTPServer] = None
        self._threads: List[threading.Thread] = []
        self._running = False

    # -- the sink ------------------------------------------------------------------------------------------
    def describe(self) -> str:
        return self.url

    @property
    def url(self) -> str:
        host = "[{}]".format(self.host) if ":" in self.host else self.host
        return "http://{}:{}/".format(host, self.port)

    def attach(self, run: RunInfo) -> None:
        self.state.run = run

    def open(self, streams: Sequence[StreamInfo]) -> None:
        self.streams = list(streams)
        self.feeds = {(s.index, view): Feed() for s in self.streams for view in FEEDS.values()}
        server_class = type("Server", (_Server6 if ":" in self.host else _Server,), {
            "limit": self.options.max_clients + 16, "refused": lambda: self.state.count("connections_refused")})
        try:
            self._server = server_class((self.host, self.port), _handler(self))
        except OSError as exc:
            why = {errno.EADDRINUSE: "the port is in use (choose another, or 0 for any free port)",
                   errno.EADDRNOTAVAIL: "this machine has no such address (0.0.0.0 serves every interface)",
                   errno.EACCES: "ports below 1024 need root (choose 8080 or another above 1023)"}
            raise UserError("cannot serve {}: {}".format(self.url, why.get(exc.errno, exc.strerror or exc))) from None
        self.port = self._server.server_address[1]  # port 0: the one the system chose
        self._running = True
        self._threads = [threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                          name="http-output", daemon=True),
                         threading.Thread(target=self._encode_loop, name="http-encoder", daemon=True)]
        for thread in self._threads:
            thread.start()
        self._announce()

    def _announce(self) -> None:
        # printed, not logged: the token must not reach log files
        where = self.url
        if self.host in ("0.0.0.0", "::"):
            where += " (every interface: open http://{}:{}/ from another machine)".format(socket.gethostname(),
                                                                                       self.port)
        print("edge-saliency: live view at {}".format(where), file=sys.stderr, flush=True)
        if self.generated_token:
            print("edge-saliency: access token {} (the page asks for it; or add ?token=...)".format(self.token),
                  file=sys.stderr, flush=True)

    def write(self, packet: Packet) -> None:
        self.state.add(packet)
        now = time.monotonic()
        if now - self._last_sent.get(packet.stream, -1e9) < 1.0 / self.options.max_fps:
            return  # over the frame-rate cap: the page gets the next one
        if not any(self.feeds[(packet.stream, view)].watchers for view in FEEDS.values()):
            return  # nobody watches this stream: no encoding
        self._last_sent[packet.stream] = now
        with self._pending_cond:
            if packet.stream in self._pending:
                self.state.count("replaced")  # the encoder had not taken the previous one yet
            self._pending[packet.stream] = packet
            self._pending_cond.notify()

    def _encode_loop(self) -> None:
        cv2 = require("cv2", purpose="the http output's JPEG frames")
        params = [cv2.IMWRITE_JPEG_QUALITY, int(self.options.jpeg_quality)]
        while True:
            with self._pending_cond:
                self._pending_cond.wait_for(lambda: self._pending or not self._running, 0.5)
                if not self._running:
                    return
                if not self._pending:
                    continue
                stream = min(self._pending, key=lambda s: self._pending[s].t_capture)
                packet = self._pending.pop(stream)
            for view in FEEDS.values():
                feed = self.feeds[(stream, view)]
                image = self._render(packet, view) if feed.watchers else None
                if image is not None:
                    ok, jpeg = cv2.imencode(".jpg", image, params)
                    if ok:
                        feed.publish(jpeg.tobytes())
                        self.state.count("encoded")

    def _render(self, packet: Packet, view: str) -> Optional[np.ndarray]:
        """The view the pipeline rendered for another sink, else rendered here (off the pipeline's threads)."""
        image = packet.views.get(view)
        if image is not None or packet.saliency is None:
            return image
        small = to_uint8(packet.saliency)
        if view == "overlay":
            return overlay_small(packet.frame, small, self.state.run.alpha, self.state.run.colormap)
        return map_view(resize(small, packet.frame.shape[:2]))

    def finish(self, ok: bool = True) -> None:
        if not self._running:
            return
        self._running = False
        with self._pending_cond:
            self._pending_cond.notify_all()
        for feed in self.feeds.values():
            feed.close()
        self.state.close()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5.0)

    def report(self) -> List[str]:
        counters = self.state.counters
        return ["served {} ({} frames encoded, {} clients dropped for stalling)".format(
            self.url, counters["encoded"], counters["clients_dropped"])]

    # -- what the endpoints show -----------------------------------------------------------------------------
    def status(self) -> Dict[str, Any]:
        run, state = self.state.run, self.state
        live = run.status()
        fps, busy = state.rates(live)
        with state.lock:
            last = {str(stream): record for stream, record in state.last.items()}
            frames = dict(state.frames)
        return {
            "model": run.model, "backend": run.backend, "precision": run.precision,
            "input": {"height": run.input_size[0], "width": run.input_size[1]}, "preprocess": run.preprocess,
            "streams": [{"index": s.index, "uri": s.uri, "height": s.size[0], "width": s.size[1], "fps": s.fps,
                         "frames": frames.get(s.index, 0)} for s in self.streams],
            "frames": live.get("frames", sum(frames.values())), "captured": live.get("captured", 0),
            "dropped": live.get("dropped", 0), "skipped": live.get("skipped", 0), "fps": fps, "busy": busy,
            "uptime_s": round(time.monotonic() - state.started, 3),
            "clients": self.clients, "clients_dropped": state.counters["clients_dropped"],
            "max_fps": self.options.max_fps, "last": last,
        }

    def metrics(self) -> str:
        status, state, out = self.status(), self.state, Exposition()
        out.sample("edge_saliency_frames_total", "counter", "Frames through the pipeline's outputs.",
                   [(None, status["frames"])])
        out.sample("edge_saliency_stream_frames_total", "counter", "Frames through the outputs, per stream.",
                   [({"stream": str(s["index"])}, s["frames"]) for s in status["streams"]])
        out.sample("edge_saliency_captured_frames_total", "counter", "Frames captured.", [(None, status["captured"])])
        out.sample("edge_saliency_dropped_frames_total", "counter",
                   "Stale frames of live sources replaced by newer ones (latest-frame policy).",
                   [(None, status["dropped"])])
        out.sample("edge_saliency_skipped_frames_total", "counter", "Unreadable images or undecodable frames.",
                   [(None, status["skipped"])])
        out.sample("edge_saliency_fps", "gauge", "Frames per second through the outputs (the last second or so).",
                   [(None, status["fps"])])
        out.sample("edge_saliency_uptime_seconds", "gauge", "Seconds since the output started.",
                   [(None, status["uptime_s"])])
        busy_s = state.run.status().get("busy_s", {})
        out.sample("edge_saliency_stage_busy_seconds_total", "counter",
                   "Seconds each stage worked (rate() of it: the fraction of time the stage is busy).",
                   [({"stage": s}, round(busy_s[s], 6)) for s in BUSY_STAGES if s in busy_s])
        with state.lock:
            histograms = [({"stage": s}, _copy(state.latency[s])) for s in LATENCY_STAGES]
        out.histogram("edge_saliency_stage_latency_seconds",
                      "Per-frame time in each stage; total: capture to the outputs.", histograms)
        out.sample("edge_saliency_http_clients", "gauge", "Open MJPEG and event streams.", [(None, status["clients"])])
        out.sample("edge_saliency_http_clients_dropped_total", "counter", "Clients dropped because they stalled.",
                   [(None, status["clients_dropped"])])
        out.sample("edge_saliency_http_clients_refused_total", "counter",
                   "Streams refused because max clients were open.", [(None, state.counters["clients_refused"])])
        out.sample("edge_saliency_http_frames_encoded_total", "counter", "JPEG frames encoded (once for all clients).",
                   [(None, state.counters["encoded"])])
        return out.text()

    # -- clients ---------------------------------------------------------------------------------------------
    def authorized(self, offered: Sequence[str]) -> bool:
        if self.token is None:
            return True
        expected = self.token.encode("utf-8")
        return any(hmac.compare_digest(value.encode("utf-8"), expected) for value in offered)

    @property
    def cookie_name(self) -> str:
        return "edge_saliency_token_{}".format(self.port)  # cookies ignore the port: one name per server

    def enter(self) -> bool:
        with self._clients_lock:
            if self.clients >= self.options.max_clients:
                self.state.count("clients_refused")
                return False
            self.clients += 1
            return True

    def leave(self) -> None:
        with self._clients_lock:
            self.clients -= 1


def _copy(histogram: Histogram) -> Histogram:
    copy = Histogram(histogram.bounds)
    copy.counts, copy.sum, copy.count = list(histogram.counts), histogram.sum, histogram.count
    return copy


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


def _handler(sink: HttpSink) -> Any:
    class Handler(_Handler):
        pass

    Handler.sink = sink
    Handler.timeout = sink.options.client_timeout  # every socket operation: a stalled client times out
    return Handler


class _Handler(BaseHTTPRequestHandler):
    sink: HttpSink
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
