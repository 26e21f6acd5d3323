"""Speed of each pre-processing mode (edge_saliency.maths.preprocess.preprocess) on one video frame → 1×3×480×640.

``pillow-bilinear`` is the official model's input (Pillow's resize, exact); the OpenCV modes are the faster
choices ``run --preprocess`` offers for live video. Baseline in the same run: ``opencv-linear``. Frames are a
real photo (scikit-image's hubble_deep_field, 872×1000) resized to common camera sizes, in OpenCV's BGR order.
Medians of many repetitions.

    python benchmarks/preprocess.py [--out benchmarks/results/preprocess_cpu.md]
"""
import argparse
import os
import platform
import statistics
import time

import cv2
import numpy as np
from skimage import data

from edge_saliency.config import PREPROCESS_MODES as MODES
from edge_saliency.files.atomic import atomic_write_text
from edge_saliency.maths.preprocess import preprocess
from edge_saliency.system import cpu_model

FRAMES = ((576, 768), (720, 1280), (1080, 1920))  # vtest.avi, 720p, 1080p


def _median_ms(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                      "preprocess_cpu.md"))
    args = parser.parse_args()
    cv2.setNumThreads(1)  # one core each: Pillow's resize is single-threaded
    photo = data.hubble_deep_field()[:, :, ::-1]
    lines = [
        "# Pre-processing speed per mode (edge_saliency.maths.preprocess), one frame → 1×3×480×640", "",
        "Machine: {}, {} cores (OpenCV on 1 thread, like Pillow), OpenCV {}, numpy {}, "
        "Python {}; shared with other jobs (load average {}), so absolute times are noisy. Medians of {} runs; "
        "ratios against opencv-linear in the same run.".format(
            cpu_model(), os.cpu_count(), cv2.__version__, np.__version__, platform.python_version(),
            ", ".join("{:.1f}".format(v) for v in os.getloadavg()), args.repeat), "",
        "| frame | " + " | ".join("{} (ms)".format(m) for m in MODES) + " | " +
        " | ".join("{} / opencv-linear".format(m) for m in MODES if m != "opencv-linear") + " |",
        "|---|" + "---|" * (2 * len(MODES) - 1),
    ]
    for h, w in FRAMES:
        frame = np.ascontiguousarray(cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA))
        ms = {m: _median_ms(lambda m=m, f=frame: preprocess(f, (480, 640), m, bgr=True), args.repeat) for m in MODES}
        lines.append("| {}x{} | {} | {} |".format(w, h, " | ".join("{:.2f}".format(ms[m]) for m in MODES), " | ".join(
            "{:.1f}x".format(ms[m] / ms["opencv-linear"]) for m in MODES if m != "opencv-linear")))
    lines += ["", "Command: `python benchmarks/preprocess.py`", ""]
    atomic_write_text(args.out, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
