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

Here the sink (encoder thread, token, start and stop); the server and its endpoints are in :mod:`.http_server`, what
they show in :mod:`.http_state`, the page in :mod:`.live_page` and the metrics format in :mod:`.prometheus`.
"""
import errno
import hmac
import logging
import secrets
import socket
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..maths.postprocess import overlay_small, resize, to_uint8
from ..pipeline.frames import map_view
from ..pipeline.packet import Packet
from .http_server import _handler, _Server, _Server6
from .http_state import BUSY_STAGES, FEEDS, LATENCY_STAGES, Feed, LiveState, is_loopback
from .prometheus import Exposition, Histogram
from .sink import OutputOptions, RunInfo, Sink, StreamInfo

log = logging.getLogger("edge_saliency.outputs")

def _copy(histogram: Histogram) -> Histogram:
    copy = Histogram(histogram.bounds)
    copy.counts, copy.sum, copy.count = list(histogram.counts), histogram.sum, histogram.count
    return copy


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


