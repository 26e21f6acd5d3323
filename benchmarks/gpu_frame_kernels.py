"""GPU check of the frame kernels (pre-processing, blur, range, overlay) against torch equivalents, with a roofline.

    python benchmarks/gpu_frame_kernels.py --lib-dir build/plugins       # a machine with a GPU: check, time, JSON
    python benchmarks/gpu_frame_kernels.py --lib-dir build/plugins --dry-run   # any machine: the CPU part only

1. CPU part (always): the host twins vs torch on the CPU — pre-processing vs F.interpolate(bilinear,
   align_corners=False) of the float frame (the same sample positions away from the clamped edges: compared
   inside a 1-pixel border), blur vs a torch conv2d with the same taps and replicate padding, overlay vs the
   CPU path (postprocess.overlay_small) within 1 grey level.
2. GPU part (a CUDA device visible to torch, and not --dry-run): the CUDA library on torch tensors and torch's
   current stream vs the host twins on the same data (pre-processing 1e-5, blur 1e-5, overlay 1 grey level), then
   each kernel and its torch equivalent timed with CUDA events (median of --repeat) at 640x480, 1280x720,
   1920x1080 frames and a 256x320 map; each kernel's bytes moved / time against the device's measured
   device-to-device copy bandwidth (the roofline). Writes benchmarks/results/gpu_frame_kernels_<gpu>.json.
"""
import argparse
import json
import os
import sys
from typing import Any, Dict, Optional, Sequence

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from gpu_kernels import median_ms  # noqa: E402 (this folder: the same CUDA-event timing as the resize check)

from edge_saliency.maths import postprocess as P  # noqa: E402
from edge_saliency.plugins import frame_kernels as FK  # noqa: E402

SIZES = [(480, 640), (720, 1280), (1080, 1920)]
MAP = (256, 320)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib-dir", help="folder of the built libraries (default: $EDGE_SALIENCY_PLUGIN / build)")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--dry-run", action="store_true", help="the CPU part only, even with a GPU")
    parser.add_argument("--out", help="JSON path (default: benchmarks/results/gpu_frame_kernels_<gpu>.json)")
    args = parser.parse_args(argv)
    if args.repeat < 3:
        parser.error("--repeat must be >= 3")
    return args


def frames(size: Sequence[int]) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3)).astype(np.uint8), (7, 7), 2)
    return cv2.resize(base, (int(size[1]), int(size[0])), interpolation=cv2.INTER_CUBIC)


def a_map() -> np.ndarray:
    import cv2

    rng = np.random.default_rng(1)
    return cv2.GaussianBlur(rng.random(MAP).astype(np.float32), (0, 0), 6)


def torch_preprocess(frame: Any, size: Sequence[int]) -> Any:
    import torch.nn.functional as F

    x = frame.flip(-1).permute(2, 0, 1)[None].float() / 255.0
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


def torch_blur(m: Any, kx: np.ndarray, ky: np.ndarray) -> Any:
    import torch
    import torch.nn.functional as F

    x = m[None, None]
    wx = torch.as_tensor(kx, device=m.device).view(1, 1, 1, -1)
    wy = torch.as_tensor(ky, device=m.device).view(1, 1, -1, 1)
    x = F.conv2d(F.pad(x, (len(kx) // 2, len(kx) // 2, 0, 0), mode="replicate"), wx)
    return F.conv2d(F.pad(x, (0, 0, len(ky) // 2, len(ky) // 2), mode="replicate"), wy)[0, 0]


def cpu_part(host: FK.FrameLibrary) -> Dict[str, Any]:
    import torch

    out: Dict[str, Any] = {}
    frame = frames((720, 1280))
    x = FK.preprocess(frame, MAP, library=host)
    ref = torch_preprocess(torch.from_numpy(frame), MAP).numpy()
    out["preprocess_vs_torch_max"] = float(np.abs(x - ref)[..., 1:-1, 1:-1].max())
    m = a_map()
    kx, ky = FK.map_taps(MAP, 5.0)
    blurred = FK.blur(m, 5.0, library=host)
    out["blur_vs_torch_max"] = float(np.abs(blurred - torch_blur(torch.from_numpy(m), kx, ky).numpy()).max())
    cpu = P.overlay_small(frame, P.to_uint8(P.minmax(blurred)))
    out["overlay_vs_cpu_path_max"] = int(np.abs(FK.overlay(frame, blurred, library=host).astype(int) - cpu).max())
    return out


def gpu_part(host: FK.FrameLibrary, cuda: FK.FrameLibrary, repeat: int) -> Dict[str, Any]:
    import torch

    dev = torch.device("cuda")
    stream = torch.cuda.current_stream().cuda_stream
    src = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    dst = torch.empty_like(src)
    copy_ms = median_ms(lambda: dst.copy_(src), repeat)
    peak = 2 * src.numel() / (copy_ms / 1000.0)  # bytes/s read + written by a device-to-device copy
    result: Dict[str, Any] = {"device": torch.cuda.get_device_name(0), "copy_bandwidth_gbs": peak / 1e9, "sizes": {}}
    m = torch.from_numpy(a_map()).to(dev)
    kx, ky = FK.map_taps(MAP, 5.0)
    work, blurred, rng = torch.empty_like(m), torch.empty_like(m), torch.empty(2, device=dev)
    lut = torch.from_numpy(P.colormap_lut("jet")).to(dev)
    for size in SIZES:
        frame_np = frames(size)
        frame = torch.from_numpy(frame_np).to(dev)
        x = torch.empty((1, 3) + MAP, device=dev)
        out = torch.empty_like(frame)
        h, w = size

        def pre(frame: Any = frame, x: Any = x, h: int = h, w: int = w) -> None:
            cuda.preprocess_ptr(frame.data_ptr(), h, w, w * 3, x.data_ptr(), 0, MAP, stream=stream)

        def post(frame: Any = frame, out: Any = out, h: int = h, w: int = w) -> None:
            cuda.blur_ptr(m.data_ptr(), 0, MAP[0], MAP[1], MAP[1], kx, ky, work.data_ptr(), blurred.data_ptr(),
                          stream=stream)
            cuda.range_ptr(blurred.data_ptr(), MAP[0], MAP[1], MAP[1], rng.data_ptr(), stream=stream)
            cuda.overlay_ptr(blurred.data_ptr(), MAP, MAP[1], rng.data_ptr(), lut.data_ptr(), frame.data_ptr(), h, w,
                             w * 3, out.data_ptr(), w * 3, 0.5, stream=stream)

        pre()
        post()
        torch.cuda.synchronize()
        twin_x = FK.preprocess(frame_np, MAP, library=host)
        twin_b = FK.blur(a_map(), 5.0, library=host)
        twin_o = FK.overlay(frame_np, twin_b, library=host)
        row: Dict[str, Any] = {
            "preprocess_vs_twin_max": float(np.abs(x.cpu().numpy() - twin_x).max()),
            "blur_vs_twin_max": float(np.abs(blurred.cpu().numpy() - twin_b).max()),
            "overlay_vs_twin_max": int(np.abs(out.cpu().numpy().astype(int) - twin_o).max()),
        }
        row["preprocess_ms"] = median_ms(pre, repeat)
        row["torch_preprocess_ms"] = median_ms(lambda frame=frame: torch_preprocess(frame, MAP), repeat)
        row["post_ms"] = median_ms(post, repeat)

        def torch_post(frame: Any = frame, size: Sequence[int] = size) -> None:
            b = torch_blur(m, kx, ky)
            n = (b - b.min()) / (b.max() - b.min())
            heat = lut[(n * 255).round().long()].permute(2, 0, 1)[None].float()
            up = torch.nn.functional.interpolate(heat, size=size, mode="bilinear", align_corners=False)
            (frame.float() * 0.5 + up[0].permute(1, 2, 0) * 0.5).round().to(torch.uint8)

        row["torch_post_ms"] = median_ms(torch_post, repeat)
        moved_pre = h * w * 3 + 3 * MAP[0] * MAP[1] * 4
        moved_post = 2 * h * w * 3 + 4 * MAP[0] * MAP[1] * 4
        row["preprocess_of_roofline"] = moved_pre / (row["preprocess_ms"] / 1000.0) / peak
        row["post_of_roofline"] = moved_post / (row["post_ms"] / 1000.0) / peak
        result["sizes"]["{}x{}".format(w, h)] = row
        print(json.dumps({"{}x{}".format(w, h): row}))
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    host = FK.FrameLibrary("host", args.lib_dir)
    cpu = cpu_part(host)
    print("host twins vs torch (CPU):", json.dumps(cpu))
    import torch

    if args.dry_run or not torch.cuda.is_available():
        print("dry run: {}; GPU parity and timing skipped".format(
            "--dry-run given" if args.dry_run else "no CUDA GPU visible to torch"))
        return 0
    result = {"cpu": cpu, "gpu": gpu_part(host, FK.FrameLibrary("cuda", args.lib_dir), args.repeat)}
    name = result["gpu"]["device"].replace(" ", "_")
    out = args.out or os.path.join(ROOT, "benchmarks", "results", "gpu_frame_kernels_{}.json".format(name))
    from edge_saliency.files.atomic import atomic_write_text

    atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
