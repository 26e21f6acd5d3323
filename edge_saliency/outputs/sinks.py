"""Where processed frames go (after jetson-utils' ``videoOutput``): a window, a video file, per-frame maps,
JSON lines, the run's summary.

Every file is written through :mod:`edge_saliency.files.atomic`: to a temp file beside the target, renamed when it
is complete and checked. A video is re-opened before it replaces anything (frame count and size must be what
was written), and the disk is watched while it grows (a full disk or the file size limit stops the run at
once: OpenCV's writer itself reports no write errors). The files of one run (videos, JSON lines, summary) are
committed together by the pipeline: all of them, or on a failure none, so previous files stay intact. Maps
are committed one by one (each is a whole file the moment it appears). An interrupted run (Ctrl-C) still
finishes its files: they are playable and complete up to the last frame.

:func:`create_sink` picks the kind from the URI (:mod:`.registry`); one module per kind: :mod:`.video`,
:mod:`.window`, :mod:`.maps`, :mod:`.jsonl`, :mod:`.summary`, :mod:`.http_sink` (the live page),
:mod:`.stream_sink` (RTP / RTSP).
"""
from typing import Optional

from .http_sink import HttpSink
from .registry import SINK_FACTORIES, SinkSpec, parse_sink_uri, register_sink
from .sink import OutputOptions, Sink
from .stream_sink import StreamSink
from .video import VideoSink
from .window import WindowSink

# -- outputs by URI (after jetson-utils' videoOutput; sources are chosen the same way in sources.py) ----------


def create_sink(uri: str, options: Optional[OutputOptions] = None) -> Sink:
    """The sink an output URI names (see :func:`parse_sink_uri`), checked but not yet open."""
    options = options or OutputOptions()
    options.validate()
    spec = parse_sink_uri(uri)
    return SINK_FACTORIES[spec.kind](spec, options)


@register_sink("video")
def _video_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    return VideoSink(spec.target, view=options.view, fourcc=options.fourcc, fps=options.fps, hud=options.hud == "on",
                     encoder=options.encoder, options=options.encoding)


@register_sink("display")
def _window_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    return WindowSink(view=options.view, hud=options.hud != "off")


@register_sink("http")
def _http_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    return HttpSink(spec.target[0], spec.target[1], options)


@register_sink("rtp")
@register_sink("rtsp")
def _stream_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    return StreamSink(spec, options)
