"""Decode cost of OpenCV's FFmpeg backend per option, on 1920×1080 clips: the default, decode threads
(``CAP_PROP_N_THREADS``: 1 and every core) and the hardware-acceleration request
(``CAP_PROP_HW_ACCELERATION = VIDEO_ACCELERATION_ANY``), each a ``cv2.VideoCapture(path, CAP_FFMPEG, params)``.

Per option: wall ms per frame (the read loop, open excluded), CPU ms per frame (user + system time of this
process, the decoder's threads included, from ``os.times``), and whether every frame equals the default
decode. The rounds interleave the options so that a change in the machine's load hits them all alike; the
table gives the median over rounds and each option's ratio to the default of the same round.

Clips: OpenCV's vtest.avi (opencv-doc) scaled to 1920×1080 and written as MPEG-4 Part 2 (mp4v, OpenCV's
writer), and the same frames as H.264 (libx264, the FFmpeg binary of the imageio-ffmpeg wheel or on PATH).

    python benchmarks/decode_options.py [--frames 300] [--rounds 5] [--out benchmarks/results/decode_options.md]
"""
import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import cv2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from edge_saliency.capture import decoders  # noqa: E402
from edge_saliency.outputs.ffmpeg_encoder import ffmpeg_binary  # noqa: E402

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
SIZE = (1080, 1920)
granted = {}  # id(options) -> (decode threads, hardware acceleration) the capture reports after decoding


def make_clips(folder, frames):
    """(mp4v clip, H.264 clip or None) of ``frames`` vtest frames scaled to 1920×1080."""
    capture = cv2.VideoCapture(VTEST)
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    mp4v = os.path.join(folder, "hd_mp4v.mp4")
    writer = cv2.VideoWriter(mp4v, cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"mp4v"), fps, (SIZE[1], SIZE[0]))
    written = 0
    while written < frames:
        ok, image = capture.read()
        if not ok:
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        writer.write(cv2.resize(image, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_LINEAR))
        written += 1
    writer.release()
    capture.release()
    binary = ffmpeg_binary()
    if binary is None:
        return mp4v, None
    h264 = os.path.join(folder, "hd_h264.mp4")
    subprocess.run([binary, "-hide_banner", "-loglevel", "error", "-y", "-i", mp4v, "-c:v", "libx264", "-preset",
                    "medium", "-crf", "20", "-pix_fmt", "yuv420p", h264], check=True)
    return mp4v, h264


def options():
    """(label, DecodeOptions) per variant this OpenCV can take."""
    cores = os.cpu_count() or 1
    variants = [("default (no option)", decoders.DecodeOptions())]
    if decoders.supports("CAP_PROP_N_THREADS"):
        variants += [("threads=1", decoders.DecodeOptions(threads=1)),
                     ("threads={} (every core)".format(cores), decoders.DecodeOptions(threads=cores))]
    if decoders.supports("CAP_PROP_HW_ACCELERATION"):
        variants.append(("hw acceleration ANY", decoders.DecodeOptions(hw_acceleration=True)))
    return variants


def decode(path, opts, limit):
    """(wall s, cpu s, frames, sha256 of every frame) of reading ``path`` with ``opts``."""
    capture = decoders.open_ffmpeg_capture(path, opts)
    if not capture.isOpened():
        raise RuntimeError("cannot open {} with {}".format(path, opts))
    digest = hashlib.sha256()
    frames = 0
    cpu0, wall0 = os.times(), time.perf_counter()
    while frames < limit:
        ok, image = capture.read()
        if not ok:
            break
        digest.update(image.tobytes())
        frames += 1
    wall, cpu1 = time.perf_counter() - wall0, os.times()
    granted[id(opts)] = (int(capture.get(cv2.CAP_PROP_N_THREADS)) if decoders.supports("CAP_PROP_N_THREADS") else None,
                         int(capture.get(cv2.CAP_PROP_HW_ACCELERATION))
                         if decoders.supports("CAP_PROP_HW_ACCELERATION") else None)
    capture.release()
    return wall, (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system), frames, digest.hexdigest()


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                        platform.processor())
    except OSError:
        return platform.processor()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300, help="frames per clip (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default %(default)s)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                      "decode_options.md"))
    args = parser.parse_args()
    if not os.path.exists(VTEST):
        sys.exit("needs {} (apt install opencv-doc)".format(VTEST))
    load_before = os.getloadavg()
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        clips = [c for c in zip(("MPEG-4 Part 2 (mp4v)", "H.264 (libx264 medium, crf 20)"),
                                make_clips(folder, args.frames)) if c[1]]
        variants = options()
        for name, path in clips:
            results = {label: [] for label, _ in variants}
            reference = None
            for _ in range(args.rounds):
                for label, opts in variants:
                    wall, cpu, frames, digest = decode(path, opts, args.frames)
                    reference = reference or digest
                    results[label].append((wall, cpu, frames, digest == reference))
            base = [r[0] for r in results[variants[0][0]]]
            lines += ["", "## {} , {} frames of 1920x1080, {} rounds".format(name, args.frames, args.rounds), "",
                      "| option | wall ms/frame | CPU ms/frame | wall vs default (median of rounds) | frames identical "
                      "to default | capture reports (threads, hw acceleration) |", "|---|---|---|---|---|---|"]
            for label, opts in variants:
                rows = results[label]
                frames = rows[0][2]
                lines.append("| {} | {:.2f} | {:.2f} | {:.2f}x | {} | {} |".format(
                    label, 1000 * statistics.median(r[0] for r in rows) / frames,
                    1000 * statistics.median(r[1] for r in rows) / frames,
                    statistics.median(r[0] / b for r, b in zip(rows, base)), "yes" if all(r[3] for r in rows) else
                    "NO", granted.get(id(opts))))
    load_after = os.getloadavg()
    head = ["# Decode options of OpenCV's FFmpeg backend (edge-saliency run --decoder opencv)", "",
            "Machine: {}, {} cores, OpenCV {}, Python {}; load average {} before, {} after (shared machine: "
            "other jobs run too, so the interleaved ratios matter more than the absolute times).".format(
                _cpu_name(), os.cpu_count(), cv2.__version__, platform.python_version(),
                ", ".join("{:.2f}".format(v) for v in load_before), ", ".join("{:.2f}".format(v) for v in load_after)),
            "", "Command: `python benchmarks/decode_options.py --frames {} --rounds {}`".format(args.frames,
                                                                                             args.rounds)]
    text = "\n".join(head + lines) + "\n"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
