"""Output URIs (after jetson-utils' ``videoOutput``): what an output string names, and the registry of the factory
of each output kind."""
import dataclasses
import logging
import re
from typing import Any, Callable, Dict, Tuple

from ..capture.uri import mask_url
from ..errors import UserError
from .sink import (
    OutputOptions,
    Sink,
)

log = logging.getLogger("edge_saliency.outputs")


@dataclasses.dataclass
class SinkSpec:
    """What an output URI names: ``kind`` (a key of the sink registry), ``target`` (a path, a ``(host, port)``
    pair or a URL) and ``uri`` (as given, credentials masked)."""

    kind: str
    target: Any
    uri: str

    @property
    def network(self) -> bool:
        """Whether this output sends frames over the network (http, rtp, rtsp)."""
        return self.kind in NETWORK_KINDS


SINK_SCHEMES = {"file": "video", "display": "display", "http": "http", "rtp": "rtp", "rtsp": "rtsp"}


NETWORK_KINDS = ("http", "rtp", "rtsp")


OUTPUT_URIS = "a video file, display://, http://HOST:PORT, rtp://HOST:PORT or rtsp://HOST:PORT/PATH"


def _host_port(scheme: str, text: str, masked: str) -> Tuple[str, int]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port, parts = None, None
    if parts is None or port is None or not parts.hostname:
        raise UserError("output {} needs a host and a port, e.g. {}://127.0.0.1:8080 (0.0.0.0 serves every "
                        "interface)".format(masked, scheme))
    if parts.username or parts.password:
        raise UserError("output {} carries credentials; the http output's access token goes in --output-token".format(
            masked))
    if parts.path not in ("", "/") or parts.query:
        raise UserError("output {} has a path or query; give only {}://HOST:PORT".format(masked, scheme))
    return parts.hostname, port


def parse_sink_uri(uri: str) -> SinkSpec:
    """What an output URI names (no I/O): a plain path or ``file://`` is a video file; ``display://`` a window;
    ``http://HOST:PORT`` the live page and streams (port 0: any free port); ``rtp://HOST:PORT`` an H.264 RTP
    stream; ``rtsp://HOST:PORT/PATH`` a stream pushed to (or served as) an RTSP server."""
    text = str(uri).strip()
    masked = mask_url(text)
    if not text:
        raise UserError("empty --output: give {}".format(OUTPUT_URIS))
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if not scheme_match:
        return SinkSpec("video", text, masked)
    scheme = scheme_match.group(1).lower()
    rest = text[scheme_match.end():]
    kind = SINK_SCHEMES.get(scheme)
    if kind is None:
        hint = "; the live view is served as plain http:// with --output-token (put a TLS proxy in front for " \
               "https)" if scheme == "https" else ""
        raise UserError("unknown output scheme {}:// in {}; use {}{}".format(scheme, masked, OUTPUT_URIS, hint))
    if kind == "video":
        return SinkSpec(kind, rest, masked)
    if kind == "display":
        return SinkSpec(kind, rest, masked)
    if kind in ("http", "rtp"):
        return SinkSpec(kind, _host_port(scheme, text, masked), masked)
    return SinkSpec(kind, text, masked)


SinkFactory = Callable[[SinkSpec, OutputOptions], Sink]


SINK_FACTORIES: Dict[str, SinkFactory] = {}


def register_sink(kind: str) -> Callable[[SinkFactory], SinkFactory]:
    """Register the factory of one output kind (re-registering a kind replaces it, with a warning)."""

    def decorate(factory: SinkFactory) -> SinkFactory:
        if kind in SINK_FACTORIES:
            log.warning("output kind %s registered again: the new factory replaces the old one", kind)
        SINK_FACTORIES[kind] = factory
        return factory

    return decorate
