"""``--output rtp://HOST:PORT`` and ``--output rtsp://SERVER:PORT/PATH``: the overlay as a live H.264 / H.265
stream (docs/network-outputs.md).

The frames go through :mod:`.encoders` like video files do: ``auto`` takes GStreamer with a hardware encoder
where one exists (Jetson's ``nvv4l2h264enc``), else an FFmpeg process (``libx264 -tune zerolatency``), else
whatever else opens; every backend tried and why it did not open is named in one line when none does.

- ``rtp://HOST:PORT``: RTP over UDP to HOST (unicast or multicast), payload type 96. RTP carries no stream
  description, so the SDP a player needs is printed at start (``ffplay -protocol_whitelist file,udp,rtp
  stream.sdp``; GStreamer: ``udpsrc port=PORT caps=...``). Several sources: ports PORT, PORT+2, ...
- ``rtsp://SERVER:PORT/PATH``: pushed (RTSP ANNOUNCE/RECORD) to an RTSP server such as mediamtx, which then
  serves it to any number of players; needs the FFmpeg backend. Several sources: PATH-0, PATH-1, ...
  Serving RTSP from this process (``rtsp://@:PORT/PATH``, GStreamer's RTSP server) is not built.
"""
import dataclasses
import sys
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit, urlunsplit

from ..capture.uri import mask_url
from ..errors import UserError
from ..pipeline.packet import Packet
from .encoder import Encoder, EncoderError
from .encoders import open_encoder
from .registry import SinkSpec
from .sink import OutputOptions, Sink, StreamInfo, video_frame

STREAM_CODECS = ("h264", "h265")
DEFAULT_BITRATE_KBPS = 4000  # a 720p overlay at 30 FPS on a LAN
PAYLOAD_TYPE = 96


def stream_url(url: str, index: int, streams: int) -> str:
    """The URL of one stream: ``{stream}`` replaced, else (several streams) rtp: the port + 2 × index (RTP takes
    even ports, RTCP the odd one above), rtsp: ``-N`` after the path."""
    if "{stream}" in url:
        return url.replace("{stream}", str(index))
    if streams == 1:
        return url
    parts = urlsplit(url)
    if parts.scheme == "rtp":
        host = parts.netloc.rsplit(":", 1)[0]
        return urlunsplit((parts.scheme, "{}:{}".format(host, (parts.port or 0) + 2 * index), parts.path, parts.query,
                           ""))
    return urlunsplit((parts.scheme, parts.netloc, "{}-{}".format(parts.path.rstrip("/"), index), parts.query, ""))


def sdp(host: str, port: int, codec: str = "h264", fps: Optional[float] = None) -> str:
    """The session description of an RTP stream this sink sends (what ``ffplay`` / VLC need to play it)."""
    family = "IP6" if ":" in host else "IP4"
    encoding = {"h264": "H264", "h265": "H265"}[codec]
    lines = ["v=0", "o=- 0 0 IN {} {}".format(family, host), "s=edge-saliency", "c=IN {} {}".format(family, host),
             "t=0 0", "m=video {} RTP/AVP {}".format(port, PAYLOAD_TYPE),
             "a=rtpmap:{} {}/90000".format(PAYLOAD_TYPE, encoding)]
    if codec == "h264":
        lines.append("a=fmtp:{} packetization-mode=1".format(PAYLOAD_TYPE))
    if fps:
        lines.append("a=framerate:{:g}".format(fps))
    return "\r\n".join(lines) + "\r\n"


class StreamSink(Sink):
    """One RTP or RTSP stream per source, through the video encoders (see the module docstring)."""

    def __init__(self, spec: SinkSpec, options: Optional[OutputOptions] = None) -> None:
        options = options or OutputOptions()
        options.validate()
        if spec.kind not in ("rtp", "rtsp"):
            raise UserError("a stream output takes rtp:// or rtsp://, got {}".format(spec.uri))
        if spec.kind == "rtsp":
            parts = urlsplit(spec.target)
            if not parts.hostname or parts.hostname in ("0.0.0.0", "::") or parts.netloc.startswith("@"):
                raise UserError("cannot serve RTSP from edge-saliency ({}): that needs GStreamer's RTSP server, which "
                                "this version does not drive; run an RTSP server such as mediamtx and push to it: "
                                "rtsp://127.0.0.1:8554/live".format(spec.uri))
            if not parts.path.strip("/"):
                raise UserError("output {} needs a path on the RTSP server, e.g. rtsp://127.0.0.1:8554/live".format(
                    spec.uri))
        self.spec = spec
        self.view = options.view
        self.views = (options.view,)
        self.hud = options.hud == "on"
        self.fps = options.fps
        self.backend = options.encoder
        self.encoding = dataclasses.replace(options.encoding,
                                            bitrate_kbps=options.encoding.bitrate_kbps or DEFAULT_BITRATE_KBPS)
        self.codec = self.encoding.codec or "h264"
        if self.codec not in STREAM_CODECS:
            raise UserError("{} streams carry {}; got --codec {}".format(spec.kind, " or ".join(STREAM_CODECS),
                                                                        self.codec))
        self.encoding = dataclasses.replace(self.encoding, codec=self.codec)
        self._encoders: Dict[int, Encoder] = {}
        self._sizes: Dict[int, Tuple[int, int]] = {}
        self.urls: Dict[int, str] = {}
        self.frames = 0

    def describe(self) -> str:
        return self.spec.uri

    def _url(self, index: int, streams: int) -> str:
        if self.spec.kind == "rtp":
            host, port = self.spec.target
            host = "[{}]".format(host) if ":" in host else host
            return stream_url("rtp://{}:{}".format(host, port), index, streams)
        return stream_url(self.spec.target, index, streams)

    def open(self, streams: Sequence[StreamInfo]) -> None:
        for stream in streams:
            h, w = stream.size
            size = (h, 2 * w) if self.view == "side-by-side" else (h, w)
            url = self._url(stream.index, len(streams))
            fps = float(self.fps or stream.fps)
            try:
                self._encoders[stream.index] = open_encoder(url, size, fps, self.backend, self.encoding)
            except EncoderError as exc:
                self.finish(ok=False)
                raise UserError("cannot stream to {}: {}".format(self.spec.uri, exc)) from None
            self._sizes[stream.index], self.urls[stream.index] = size, url
            if self.spec.kind == "rtp":
                parts = urlsplit(url)
                print("edge-saliency: RTP {} to {}; SDP for players (save as stream.sdp):\n{}".format(
                    self.codec.upper(), url, sdp(parts.hostname or "", parts.port or 0, self.codec, fps).rstrip()),
                    file=sys.stderr, flush=True)
            else:
                print("edge-saliency: pushing RTSP {} to {}".format(self.codec.upper(), self.spec.uri),
                      file=sys.stderr, flush=True)

    def write(self, packet: Packet) -> None:
        image = video_frame(packet, self.view, self._sizes[packet.stream], self.hud)
        try:
            self._encoders[packet.stream].write(image)
        except EncoderError as exc:
            raise UserError("stream {} stopped: {}".format(self.spec.uri, exc)) from None
        self.frames += 1

    def finish(self, ok: bool = True) -> None:
        failure: Optional[BaseException] = None
        for encoder in self._encoders.values():
            try:
                if ok:
                    encoder.close()
                else:
                    encoder.abort()
            except EncoderError as exc:
                failure = failure or exc
        self._encoders.clear()
        if failure is not None:
            raise UserError("stream {} did not end cleanly: {}".format(self.spec.uri, failure))

    def report(self) -> List[str]:
        urls = ", ".join(mask_url(url) for url in self.urls.values())
        return ["streamed {} frames to {}".format(self.frames, urls)] if self.frames else []

