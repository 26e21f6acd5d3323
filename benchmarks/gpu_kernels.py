"""GPU check of the CUDA bilinear-resize kernels against PyTorch's CUDA interpolate.

    python benchmarks/gpu_kernels.py                 # build (or find) the libraries, check, time, write JSON
    python benchmarks/gpu_kernels.py --lib-dir DIR   # use libraries built elsewhere (e.g. build/plugins)

1. CPU part (any machine): the host library vs torch.nn.functional.interpolate on the CPU.
2. GPU part (when torch sees a CUDA device): the CUDA library, called through ctypes on torch-allocated tensors
   and torch's current stream, vs F.interpolate on the GPU over many shapes, both align_corners values, float32
   and float16, size and scale-factor forms, and the fused resize-and-concatenate vs separate resizes + torch.cat;
   then timings (CUDA events, median of --repeat runs) against torch, with the achieved bandwidth as a fraction of
   the device's peak. Writes benchmarks/results/gpu_kernels_<gpu>.json. Takes well under five minutes.

Without a GPU it runs part 1, says that the GPU part was skipped, and exits 0.
"""
import argparse
import functools
import json
import os
import platform
import re
import statistics
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edge_saliency.files.atomic import atomic_write_text  # noqa: E402
from edge_saliency.plugins.build import build_plugins  # noqa: E402
from edge_saliency.plugins.kernels import ResizeLibrary, resize  # noqa: E402
from edge_saliency.plugins.library import LIBRARIES  # noqa: E402

FP32_TOL = 1e-6
FP16_TOL = 2.0 ** -11  # one float16 ulp below 1.0; inputs are in [0, 1)
# EML-Net decoder: readouts at strides 2..32 of a 480×640 input, two encoders -> one 10-channel stack
EMLNET_MAPS = [(240, 320), (120, 160), (60, 80), (30, 40), (15, 20)] * 2


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib-dir", help="folder with the built libraries (default: build them into --build-dir)")
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build", "gpu-kernels"),
                        help="where to build when --lib-dir is not given (default: build/gpu-kernels)")
    parser.add_argument("--cases", type=int, default=120, help="random shapes per parity check (default 120)")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per benchmark (median; default 50)")
    parser.add_argument("--out", help="JSON result path (default: benchmarks/results/gpu_kernels_<gpu>.json)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.cases < 1 or args.repeat < 3:
        parser.error("--cases must be >= 1 and --repeat >= 3")
    return args


def libraries(args: argparse.Namespace, arch: Optional[str]) -> Dict[str, str]:
    """kind -> path of the host and (when a GPU is there) CUDA libraries."""
    if args.lib_dir:
        return {k: os.path.join(args.lib_dir, LIBRARIES[k]) for k in ("host", "cuda")
                if os.path.isfile(os.path.join(args.lib_dir, LIBRARIES[k]))}
    report = build_plugins(build_dir=args.build_dir, cuda_archs=arch or "75", cuda=arch is not None,
                           tensorrt=False, tests=False)
    for kind, reason in report.skipped.items():
        print("build: {} skipped ({})".format(kind, reason))
    return dict(report.built)


def random_cases(rng: np.random.Generator, count: int) -> List[Tuple[Tuple[int, ...], Tuple[int, int]]]:
    cases = [((1, 1, 1, 1), (5, 7)), ((2, 3, 5, 7), (1, 1)), ((1, 2, 9, 9), (9, 9)), ((1, 1, 15, 20), (480, 640)),
             ((1, 4, 60, 80), (15, 20)), ((2, 1, 7, 5), (13, 3))]
    for _ in range(count):
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 5)), int(rng.integers(1, 70)), int(rng.integers(1, 70)))
        cases.append((shape, (int(rng.integers(1, 200)), int(rng.integers(1, 200)))))
    return cases


def host_parity(path: str, rng: np.random.Generator, count: int) -> Dict[str, Any]:
    import torch
    import torch.nn.functional as F

    library = ResizeLibrary("host", path=path)
    worst = 0.0
    cases = random_cases(rng, count)
    for align in (False, True):
        for shape, size in cases:
            x = rng.random(shape, dtype=np.float32)
            expected = F.interpolate(torch.from_numpy(x), size=size, mode="bilinear", align_corners=align).numpy()
            worst = max(worst, float(np.abs(resize(x, size, align, library=library) - expected).max()))
    return {"cases": 2 * len(cases), "max_abs_diff_fp32": worst, "ok": worst <= FP32_TOL}


def cuda_parity(library: ResizeLibrary, rng: np.random.Generator, count: int) -> Dict[str, Any]:
    import torch
    import torch.nn.functional as F

    stream = torch.cuda.current_stream().cuda_stream
    out: Dict[str, Any] = {}
    for dtype, code, tol in ((torch.float32, 0, FP32_TOL), (torch.float16, 1, FP16_TOL)):
        for form in ("size", "scale"):
            for align in (False, True):
                worst, exact, total = 0.0, 0, 0
                for shape, size in random_cases(rng, count):
                    x = torch.rand(shape, device="cuda").to(dtype)
                    scales = None
                    if form == "scale":
                        scales = (float(rng.choice([0.5, 0.75, 1.5, 2.0, 2.5, 4.0, 32.0])),) * 2
                        expected = F.interpolate(x, scale_factor=scales, mode="bilinear", align_corners=align,
                                                 recompute_scale_factor=False)
                        size = tuple(expected.shape[2:])
                    else:
                        expected = F.interpolate(x, size=size, mode="bilinear", align_corners=align)
                    if min(size) < 1:
                        continue
                    y = torch.empty(shape[:2] + tuple(size), device="cuda", dtype=dtype)
                    library.resize_ptr(x.data_ptr(), y.data_ptr(), code, shape, size, align, scales, stream)
                    diff = (y.float() - expected.float()).abs()
                    worst = max(worst, float(diff.max()))
                    exact += int((diff == 0).sum())
                    total += diff.numel()
                key = "{}_{}_align{}".format(str(dtype).split(".")[1], form, int(align))
                out[key] = {"max_abs_diff": worst, "exact_fraction": exact / max(total, 1), "ok": worst <= tol}
    return out


def fused_maps(dtype: Any, batch: int = 1) -> List[Any]:
    import torch

    return [torch.rand((batch, 1, h, w), device="cuda").to(dtype) for h, w in EMLNET_MAPS]


def run_fused(library: ResizeLibrary, maps: List[Any], size: Tuple[int, int], align: bool, stream: int) -> Any:
    import torch

    code = 0 if maps[0].dtype == torch.float32 else 1
    y = torch.empty((maps[0].shape[0], len(maps)) + size, device="cuda", dtype=maps[0].dtype)
    library.resize_concat_ptr([m.data_ptr() for m in maps], [tuple(m.shape[2:]) for m in maps], maps[0].shape[0],
                              y.data_ptr(), code, size, align, stream)
    return y


def torch_resize_concat(maps: List[Any], size: Tuple[int, int], align: bool = False) -> Any:
    import torch
    import torch.nn.functional as F

    return torch.cat([F.interpolate(m, size=size, mode="bilinear", align_corners=align) for m in maps], dim=1)


def fused_parity(library: ResizeLibrary) -> Dict[str, Any]:
    import torch

    stream = torch.cuda.current_stream().cuda_stream
    out: Dict[str, Any] = {}
    for dtype, tol in ((torch.float32, FP32_TOL), (torch.float16, FP16_TOL)):
        for align in (False, True):
            maps = fused_maps(dtype, batch=2)
            got = run_fused(library, maps, (480, 640), align, stream)
            expected = torch_resize_concat(maps, (480, 640), align)
            worst = float((got.float() - expected.float()).abs().max())
            out["{}_align{}".format(str(dtype).split(".")[1], int(align))] = {"max_abs_diff": worst,
                                                                              "ok": worst <= tol}
    return out


def median_ms(fn: Any, repeat: int) -> float:
    import torch

    for _ in range(5):
        fn()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def peak_bandwidth_gbs(props: Any) -> Optional[float]:
    clock_khz = getattr(props, "memory_clock_rate", 0)
    bus_bits = getattr(props, "memory_bus_width", 0)
    if not clock_khz or not bus_bits:
        return None
    return 2.0 * clock_khz * 1e3 * bus_bits / 8 / 1e9  # double data rate


def timings(library: ResizeLibrary, repeat: int, peak: Optional[float]) -> List[Dict[str, Any]]:
    import torch
    import torch.nn.functional as F

    stream = torch.cuda.current_stream().cuda_stream
    rows = []
    singles = [((1, 1, 15, 20), (480, 640)), ((1, 1, 60, 80), (480, 640)), ((1, 64, 60, 80), (480, 640)),
               ((8, 16, 120, 160), (480, 640)), ((1, 32, 480, 640), (240, 320)), ((4, 3, 1080, 1920), (480, 640))]
    for dtype, code in ((torch.float32, 0), (torch.float16, 1)):
        for shape, size in singles:
            x = torch.rand(shape, device="cuda").to(dtype)
            y = torch.empty(shape[:2] + size, device="cuda", dtype=dtype)
            ours = median_ms(functools.partial(library.resize_ptr, x.data_ptr(), y.data_ptr(), code, shape, size,
                                               False, None, stream), repeat)
            theirs = median_ms(functools.partial(F.interpolate, x, size=size, mode="bilinear", align_corners=False),
                               repeat)
            moved = (x.numel() + y.numel()) * x.element_size()
            gbs = moved / (ours * 1e-3) / 1e9
            rows.append({"op": "resize", "dtype": str(dtype).split(".")[1], "input": list(shape), "output": list(size),
                         "ours_ms": ours, "torch_ms": theirs, "speedup_vs_torch": theirs / ours,
                         "achieved_GBps": gbs, "fraction_of_peak": gbs / peak if peak else None})
        maps = fused_maps(dtype)
        fused = median_ms(functools.partial(run_fused, library, maps, (480, 640), False, stream), repeat)
        theirs = median_ms(functools.partial(torch_resize_concat, maps, (480, 640)), repeat)
        moved = (sum(m.numel() for m in maps) + len(maps) * 480 * 640) * maps[0].element_size()
        gbs = moved / (fused * 1e-3) / 1e9
        rows.append({"op": "resize_concat (EML-Net decoder, 10 maps -> 480x640)", "dtype": str(dtype).split(".")[1],
                     "ours_ms": fused, "torch_ms": theirs, "speedup_vs_torch": theirs / fused,
                     "achieved_GBps": gbs, "fraction_of_peak": gbs / peak if peak else None})
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    started = time.time()
    try:
        import torch
    except ImportError:
        print('this check needs torch: pip install -e ".[dev]"')
        return 1
    rng = np.random.default_rng(args.seed)
    gpu = torch.cuda.is_available()
    arch = "{}{}".format(*torch.cuda.get_device_capability(0)) if gpu else None
    libs = libraries(args, arch)
    if "host" not in libs:
        print("the host library is missing (build it with: edge-saliency build-plugin)")
        return 1
    host = host_parity(libs["host"], rng, min(args.cases, 60))
    print("host library vs torch (CPU): {cases} cases, max |diff| float32 = {max_abs_diff_fp32:.3g}".format(**host))
    if not gpu:
        print("no CUDA GPU visible to torch: GPU parity and timing skipped (nothing written)")
        return 0 if host["ok"] else 1
    if "cuda" not in libs:
        print("the CUDA library is missing: install nvcc + cmake, or pass --lib-dir with a build for sm_" + arch)
        return 1
    library = ResizeLibrary("cuda", path=libs["cuda"])
    props = torch.cuda.get_device_properties(0)
    peak = peak_bandwidth_gbs(props)
    result: Dict[str, Any] = {
        "machine": {"gpu": props.name, "compute_capability": arch, "memory_GB": props.total_memory / 2**30,
                    "peak_bandwidth_GBps": peak, "torch": torch.__version__, "torch_cuda": torch.version.cuda,
                    "python": platform.python_version(), "host": platform.node()},
        "host_parity": host,
        "cuda_parity": cuda_parity(library, rng, args.cases),
        "fused_parity": fused_parity(library),
    }
    torch.cuda.synchronize()
    result["timings"] = timings(library, args.repeat, peak)
    checks = [host["ok"]] + [v["ok"] for v in result["cuda_parity"].values()] + \
        [v["ok"] for v in result["fused_parity"].values()]
    result["all_parity_ok"] = all(checks)
    result["seconds"] = time.time() - started
    for key, value in result["cuda_parity"].items():
        print("parity {:<28} max |diff| {:.3g}  exact {:.1%}  {}".format(
            key, value["max_abs_diff"], value["exact_fraction"], "ok" if value["ok"] else "FAIL"))
    for row in result["timings"]:
        print("{:<55} {:<8} ours {:.4f} ms  torch {:.4f} ms  x{:.2f}  {:.0f} GB/s".format(
            row["op"] if row["op"] != "resize" else "resize {}->{}".format(row["input"], row["output"]),
            row["dtype"], row["ours_ms"], row["torch_ms"], row["speedup_vs_torch"], row["achieved_GBps"]))
    out = args.out or os.path.join(ROOT, "benchmarks", "results", "gpu_kernels_{}.json".format(
        re.sub(r"[^A-Za-z0-9]+", "_", props.name).strip("_").lower()))
    atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    print("wrote {} ({:.0f} s)".format(out, result["seconds"]))
    return 0 if result["all_parity_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
