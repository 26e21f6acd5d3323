"""Speed of the post-processing (edge_saliency.maths.postprocess) on one 480×640 map per video frame.

The official chain (``postprocess``, what ``predict`` / ``eval`` run) against a baseline in the same run: the
same chain written with scipy.ndimage.gaussian_filter (σ = 5, truncate 4, mode "nearest", the usual numpy
way) + numpy min-max + cv2.resize. And the runtime's blur with the official edge mode (edge pixel repeated)
against the mirrored border it used before, to show the border costs nothing. Medians of many repetitions.

    python benchmarks/postprocess.py [--out benchmarks/results/postprocess_cpu.md]
"""
import argparse
import os
import platform
import statistics
import time

import cv2
import numpy as np
from scipy import ndimage

from edge_saliency.maths import postprocess as P


def _median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _scipy_chain(saliency, size):
    blurred = ndimage.gaussian_filter(saliency, 5.0, mode="nearest", truncate=4.0)
    resized = cv2.resize(blurred, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    scaled = (resized - resized.min()) / (resized.max() - resized.min())
    return (scaled * 255).astype(np.uint8)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                      "postprocess_cpu.md"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    saliency = ndimage.gaussian_filter(rng.random((480, 640)), 8).astype(np.float32)
    frame = rng.integers(0, 255, (720, 1280, 3)).astype(np.uint8)
    rows = []
    for label, size in (("480x640 map -> 480x640", (480, 640)), ("480x640 map -> 720x1280 frame", (720, 1280))):
        ours = _median_ms(lambda size=size: P.postprocess(saliency, size), args.repeat)
        base = _median_ms(lambda size=size: _scipy_chain(saliency, size), max(20, args.repeat // 10))
        rows.append((label, ours, base))
    u8 = P.postprocess(saliency, (720, 1280))
    over = _median_ms(lambda: P.overlay(frame, u8), args.repeat)
    ksize = (P.kernel_size(5.0), P.kernel_size(5.0))
    borders = {name: _median_ms(lambda flag=flag: cv2.GaussianBlur(saliency, ksize, 5.0, borderType=flag), args.repeat)
               for name, flag in (("edge repeated (now)", cv2.BORDER_REPLICATE), ("mirrored (before)",
                                                                                  cv2.BORDER_REFLECT))}
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())
    lines = [
        "# Post-processing speed (edge_saliency.maths.postprocess)", "",
        "Machine: {}, {} cores, OpenCV {}, numpy {}, Python {}; shared with other developers' jobs (load "
        "average {}), so absolute times are noisy. Medians of {} runs.".format(
            cpu, os.cpu_count(), cv2.__version__, np.__version__, platform.python_version(),
            ", ".join("{:.1f}".format(v) for v in os.getloadavg()), args.repeat), "",
        "| what | postprocess (ms) | scipy.ndimage chain (ms) | speed-up |", "|---|---|---|---|",
    ]
    lines += ["| {} | {:.2f} | {:.2f} | {:.1f}x |".format(label, ours, base, base / ours) for label, ours, base in rows]
    lines += ["", "overlay() of a 720x1280 frame (colour map + blend): {:.2f} ms".format(over), "",
              "Runtime blur of a 480x640 map (σ 5): " + ", ".join("{} {:.2f} ms".format(k, v) for k, v in
                                                                    borders.items()), "",
              "Command: `python benchmarks/postprocess.py`", ""]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
