"""The frame path at camera resolutions: the stages of ``edge-saliency run`` timed over real frames scaled to
each source size (``--frame-sizes``, default 640×480, 1280×720 and 1920×1080), each stage's p50 as a ratio to
the inference p50 of the same run.

- :func:`parse_frame_sizes` — the ``--frame-sizes`` values (``HxW`` ...; nothing or ``none``: no sizes);
- :func:`write_source_clip` — consecutive real frames (a video's, else the sample clip's photos) scaled to
  (H, W), written as an mp4v clip atomically and read back before it is used (made once per size per run);
- :func:`measure_source_sizes` — :func:`~.frame_path.time_stages` over each clip with the overlay video as the
  output (what ``edge-saliency run --output out.mp4`` does, the encoder ``auto`` picks), each stage's latency
  statistics and :func:`stage_ratios`;
- :func:`markdown_lines` — the report's table per cell: rows are source sizes, columns stages, ``ms (x inference)``.

Ratios are per frame: a stage that runs once per batch (copy-in, infer, copy-out, inference) counts its time
over the batch size, so at batch 1 a stage's ratio is its p50 / inference's p50. numpy + OpenCV; Python 3.8.
"""
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .._lazy import require
from ..errors import UserError
from ..files.atomic import atomic_output
from .stats import stage_stats

DEFAULT_FRAME_SIZES = ((480, 640), (720, 1280), (1080, 1920))
STAGES = ("decode", "preprocess", "copy_in", "infer", "copy_out", "inference", "postprocess", "output")
BATCH_STAGES = ("copy_in", "infer", "copy_out", "inference")  # timed once per batch, not per frame
LABELS = {"decode": "decode", "preprocess": "pre-process", "copy_in": "copy-in", "infer": "infer",
          "copy_out": "copy-out", "inference": "inference", "postprocess": "post-process", "output": "output"}
# even sides: H.264 / H.265 encoders take 4:2:0 frames; 8192: 8K with room, a typo above it
MIN_SIDE, MAX_SIDE = 16, 8192
SIZE_HINT = "HxW with even sides from {} to {} (e.g. 480x640 720x1280 1080x1920), or none".format(MIN_SIDE, MAX_SIDE)


def parse_frame_sizes(values: Sequence[Union[str, Sequence[int]]]) -> List[Tuple[int, int]]:
    """``["480x640", (720, 1280)]`` → ``[(480, 640), (720, 1280)]`` (repeats dropped); ``[]`` or ``["none"]`` →
    ``[]``; anything else a :class:`~edge_saliency.errors.UserError` naming the value and the form."""
    if [str(v).strip().lower() for v in values] == ["none"]:
        return []
    sizes: List[Tuple[int, int]] = []
    for value in values:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+)\s*[xX×,]\s*(\d+)\s*", value)
            size = (int(match.group(1)), int(match.group(2))) if match else None
        else:
            pair = tuple(value)
            size = (int(pair[0]), int(pair[1])) if len(pair) == 2 and all(isinstance(v, int) for v in pair) else None
        if size is None or not all(MIN_SIDE <= side <= MAX_SIDE and side % 2 == 0 for side in size):
            raise UserError("--frame-sizes takes {}, got {!r}".format(SIZE_HINT, value))
        if size not in sizes:
            sizes.append(size)
    return sizes


def _frames(video: Optional[str], size: Tuple[int, int], count: int) -> Any:
    """``count`` BGR frames at ``size``: the video's first frames (from the start again when it is shorter),
    else the sample clip's panned and zoomed photos made at that size."""
    cv2 = require("cv2", purpose="the frame-path clips")
    from .frame_path import default_video

    video = video or default_video()
    if video is None:
        from ..outputs.sample_clip import sample_frames

        yield from sample_frames(count, size)
        return
    written = 0
    while written < count:
        capture = cv2.VideoCapture(os.fspath(video))
        read = 0
        try:
            while written < count:
                ok, frame = capture.read()
                if not ok or frame is None:
                    break
                read += 1
                smaller = frame.shape[0] * frame.shape[1] > size[0] * size[1]
                yield cv2.resize(frame, (size[1], size[0]),
                                 interpolation=cv2.INTER_AREA if smaller else cv2.INTER_LINEAR)
                written += 1
        finally:
            capture.release()
        if not read:
            raise UserError("no frames could be decoded from {} for the frame-path clips".format(video))


def write_source_clip(path: str, size: Tuple[int, int], frames: int, video: Optional[str] = None,
                      fps: float = 25.0) -> str:
    """Write ``frames`` real frames of ``video`` (default: opencv-doc's vtest.avi, else the sample clip's photos)
    scaled to ``size`` (H, W) to the .mp4 ``path`` with OpenCV's mp4v (how most clips decode), atomically and
    read back; returns ``path``."""
    cv2 = require("cv2", purpose="the frame-path clips")
    from ..outputs.video import verify_video, video_fourcc

    (height, width), = parse_frame_sizes([tuple(size)])
    if frames < 1:
        raise UserError("a frame-path clip needs at least 1 frame, got {}".format(frames))
    fourcc = video_fourcc(path)
    output = atomic_output(path, what="frame-path clip")
    output.verify = lambda tmp: verify_video(output, lambda: frames, (height, width))
    with output as tmp:
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*fourcc), float(fps), (width, height))
        if not writer.isOpened():
            raise UserError("cannot write the frame-path clip {} with codec {}".format(path, fourcc))
        try:
            for frame in _frames(video, (height, width), frames):
                writer.write(frame)
        finally:
            writer.release()
    return path


def source_clips(video: Optional[str], sizes: Sequence[Tuple[int, int]], frames: int,
                 folder: str) -> List[Tuple[Tuple[int, int], str]]:
    """One clip per source size in ``folder`` (``source-HxW.mp4``): [(size, path)]."""
    return [(tuple(size), write_source_clip(os.path.join(folder, "source-{}x{}.mp4".format(*size)), size, frames,
                                            video)) for size in sizes]  # type: ignore[misc]


def stage_ratios(stats: Dict[str, Optional[Dict[str, float]]], batch: int = 1) -> Dict[str, Optional[float]]:
    """Each stage's p50 per frame / inference's p50 per frame (None where a stage or inference is missing)."""
    inference = stats.get("inference")
    if not inference or inference["p50"] <= 0:
        return {name: None for name in stats}
    per_frame = inference["p50"] / batch
    return {name: None if s is None else s["p50"] / (batch if name in BATCH_STAGES else 1) / per_frame
            for name, s in stats.items()}


def _video_sink(path: str) -> Any:
    """The overlay video sink of ``run --output path``, remembering which encoder the ``auto`` choice opened."""
    from ..outputs.video import VideoSink

    class Sink(VideoSink):
        encoder_used = ""

        def write(self, packet: Any) -> None:
            if not self.encoder_used:  # "FFmpeg process: ffmpeg -y ..." -> "FFmpeg process"
                writer = getattr(self, "_writers", {}).get(packet.stream)  # the VideoSink's open encoder
                text = getattr(writer, "description", "")
                self.encoder_used = re.split(r"[:,]", text, maxsplit=1)[0].strip()
            super().write(packet)

    return Sink(path)


def measure_source_sizes(clips: Sequence[Tuple[Tuple[int, int], str]], runner: Any, frames: int, options: Any,
                         batch: int, folder: str) -> List[Dict[str, Any]]:
    """:func:`~.frame_path.time_stages` over each clip (the overlay video into ``folder``, removed after): per
    source size ``{"source": [H, W], "frames", "encoder", "stages_ms": {stage: stats or None}, "vs_inference":
    {stage: ratio or None}}``."""
    from .frame_path import time_stages

    records = []
    for size, clip in clips:
        path = os.path.join(folder, "stages-{}x{}-{}.mp4".format(size[0], size[1], os.getpid()))
        sink = _video_sink(path)
        try:
            stats = stage_stats(time_stages(clip, runner, frames, options, [sink], batch=batch), STAGES)
        finally:
            if os.path.exists(path):
                os.remove(path)
        decoded = stats.get("decode")
        records.append({"source": [int(size[0]), int(size[1])], "frames": int(decoded["n"]) if decoded else 0,
                        "encoder": sink.encoder_used, "stages_ms": stats, "vs_inference": stage_ratios(stats, batch)})
    return records


def _cell_text(record: Dict[str, Any], stage: str) -> str:
    stats, ratio = record["stages_ms"].get(stage), record["vs_inference"].get(stage)
    if stats is None:
        return "n/a"
    return "{:.2f} ({:.2f}×)".format(stats["p50"], ratio) if ratio is not None else "{:.2f}".format(stats["p50"])


def markdown_lines(cells: Sequence[Any], frames: Any) -> List[str]:
    """The report's section: for each cell with ``source_stages``, rows = source sizes, columns = the stages it
    timed, ``p50 ms (× inference p50)``."""
    measured = [c for c in cells if getattr(c, "source_stages", None)]
    if not measured:
        return []
    lines = ["", "## Frame path at source sizes", "",
             "Each stage alone over {} real video frames scaled to each source size (H×W), the output being the "
             "overlay video as `edge-saliency run --output out.mp4` writes it: p50 ms per frame, and in brackets "
             "that p50 as a ratio to inference's p50 in the same cell run (inference: the runner's whole call on "
             "the host clock; copy-in / infer / copy-out on the cell's clock; a batch's time counts 1/batch per "
             "frame; `n/a`: inside the backend's call).".format(frames)]
    for cell in measured:
        records = cell.source_stages
        stages = [s for s in STAGES if any(r["stages_ms"].get(s) for r in records)]
        encoders = sorted({r.get("encoder") for r in records if r.get("encoder")})
        lines += ["", "### {}{}".format(cell.id, " (output: {})".format(", ".join(encoders)) if encoders else ""), "",
                  "| source | " + " | ".join(LABELS[s] for s in stages) + " |", "|---|" + "---|" * len(stages)]
        for record in records:
            lines.append("| {}×{} | {} |".format(record["source"][0], record["source"][1],
                                                 " | ".join(_cell_text(record, s) for s in stages)))
    return lines


def summary(records: Optional[Sequence[Dict[str, Any]]]) -> str:
    """``"at 1080x1920: post-process 1.57×, output 0.86× inference"`` for the largest source size ('' if none)."""
    if not records:
        return ""
    largest = max(records, key=lambda r: r["source"][0] * r["source"][1])
    parts = ["{} {:.2f}×".format(LABELS[s], largest["vs_inference"][s]) for s in ("postprocess", "output")
             if largest["vs_inference"].get(s) is not None]
    return "at {}x{}: {} inference".format(largest["source"][0], largest["source"][1], ", ".join(parts)) if parts \
        else ""
