"""``edge-saliency selftest``: what this machine has, and whether every inference path works on it.

Builds two tiny networks — a bilinear upsample as ONNX ``Resize`` and as our ``BilinearUpsample_TRT`` plugin
node — runs them through every available path (ONNX Runtime; TensorRT with the native op and with the
plugin) and compares each with an independent numpy reference. On a machine without TensorRT it says what
is missing and checks the ONNX Runtime path.
"""
import dataclasses
import os
import tempfile
import traceback
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from .. import system
from ..errors import UserError
from ..plugins import upsample_op
from .selftest_graphs import IN_SHAPE, OUT_HW, tiny_upsample_onnx

OK, SKIP, FAIL = "ok", "skip", "FAIL"
TOLERANCE = {"float32": 1e-5, "float16": 2e-3}


@dataclasses.dataclass
class Check:
    name: str
    status: str
    detail: str


def tiny_onnx(path: str, plugin: bool) -> None:
    """Write the tiny graph (:mod:`.selftest_graphs`, no ``onnx`` package needed) to ``path``."""
    with open(path, "wb") as f:
        f.write(tiny_upsample_onnx(plugin))


def _reference(x: np.ndarray) -> np.ndarray:
    return upsample_op.bilinear_resize(x, OUT_HW, align_corners=False)


def _compare(got: np.ndarray, expected: np.ndarray, dtype: str = "float32") -> Check:
    """A nameless check; :func:`_guarded` names it."""
    diff = float(np.abs(got.astype(np.float32) - expected).max())
    ok = diff <= TOLERANCE[dtype]
    return Check("", OK if ok else FAIL, "max abs diff {:.2e} (tolerance {:.0e})".format(diff, TOLERANCE[dtype]))


def _run_onnxruntime(path: str, x: np.ndarray, plugin: bool) -> np.ndarray:
    if plugin:  # the reference op for the plugin node: onnxruntime-extensions, and onnx to find the node
        from ..plugins.ort_op import create_session

        return create_session(path).run(None, {"x": x})[0]
    from .._lazy import require

    ort = require("onnxruntime", purpose="the ONNX Runtime check")
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def _missing_for_plugin_op() -> Optional[str]:
    """Why the plugin node cannot run in ONNX Runtime here (None when it can)."""
    import importlib.util

    missing = [p for p in ("onnx", "onnxruntime_extensions") if importlib.util.find_spec(p) is None]
    if missing:
        return "needs {} (pip install \"edge-saliency[export]\")".format(" and ".join(missing))
    return None


def run_selftest(run_engine: Optional[Callable[[str, np.ndarray], np.ndarray]] = None) -> Dict[str, Any]:
    """All checks as a dict: {"environment": ..., "checks": [Check...]}.

    ``run_engine(engine_path, x)`` runs a built engine; by default the runtime's TensorRT runner.
    """
    env = system.environment()
    checks: List[Check] = []
    gpu = env["gpu"]
    checks.append(Check("CUDA GPU", OK if gpu else SKIP,
                        "{} (compute capability {})".format(gpu["name"], gpu["compute_capability"]) if gpu
                        else "none found (nvidia-smi, cuda-python)"))
    checks.append(Check("TensorRT", OK if env["tensorrt"] else SKIP,
                        env["tensorrt"] or 'not installed: pip install "edge-saliency[tensorrt]" (Jetson: JetPack)'))
    if env["jetson"]:
        jet = env["jetson"]
        checks.append(Check("Jetson", OK, "{}, L4T {}, JetPack {}, power mode {}, clocks {}".format(
            jet["model"], jet["l4t"], jet["jetpack"], jet["power_mode"],
            "locked" if jet["clocks_locked"] else "not locked (sudo jetson_clocks)")))
    plugin_path = None
    try:
        from ..plugins import find_library

        plugin_path = find_library("tensorrt")
        checks.append(Check("plugin library", OK, plugin_path))
    except (UserError, ImportError) as exc:
        checks.append(Check("plugin library", SKIP, str(exc).splitlines()[0]))

    x = np.random.default_rng(0).random(IN_SHAPE, dtype=np.float32)
    expected = _reference(x)
    with tempfile.TemporaryDirectory(prefix="edge-saliency-selftest-") as tmp:
        paths = {}
        for variant in ("native", "plugin"):
            paths[variant] = os.path.join(tmp, "upsample-{}.onnx".format(variant))
            tiny_onnx(paths[variant], plugin=variant == "plugin")
        checks += _onnxruntime_checks(paths, x, expected)
        if env["tensorrt"] and gpu:
            from ..engine.build import build_engine
            from ..engine.options import BuildOptions

            for variant, path in paths.items():
                label = "TensorRT, {} upsample".format(variant)
                if variant == "plugin" and plugin_path is None:
                    checks.append(Check(label, SKIP, "plugin library not built (edge-saliency build-plugin)"))
                    continue

                def build_and_run(p: str = path, v: str = variant) -> Check:
                    options = BuildOptions(precision="fp32", plugins=[plugin_path] if v == "plugin" and plugin_path
                                           else [])
                    result = build_engine(p, options, backend="tensorrt", output=p.replace(".onnx", ".engine"))
                    runner = run_engine or _default_engine_runner
                    return _compare(runner(result.path, x), expected)

                checks.append(_guarded(label, build_and_run))
        else:
            checks.append(Check("TensorRT engines", SKIP, "needs TensorRT and a CUDA GPU"))
    return {"environment": env, "checks": checks}


def _onnxruntime_checks(paths: Dict[str, str], x: np.ndarray, expected: np.ndarray) -> List[Check]:
    """Each tiny graph through ONNX Runtime; the plugin node skipped, with the reason, without its parts."""
    checks = []
    for variant, path in paths.items():
        label = "ONNX Runtime, {} upsample".format(variant)
        missing = _missing_for_plugin_op() if variant == "plugin" else None
        if missing:
            checks.append(Check(label, SKIP, missing))
            continue

        def run_ort(p: str = path, v: str = variant) -> Check:
            return _compare(_run_onnxruntime(p, x, v == "plugin"), expected)

        checks.append(_guarded(label, run_ort))
    return checks


def _guarded(name: str, fn: Callable[[], Check]) -> Check:
    try:
        check = fn()
        return Check(name, check.status, check.detail)
    except Exception as exc:  # a selftest reports, it does not crash
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Check(name, FAIL, detail + ("" if isinstance(exc, UserError) else " ({})".format(
            traceback.format_exc(limit=1).splitlines()[-1])))


def _default_engine_runner(path: str, x: np.ndarray) -> np.ndarray:
    from ..runners import create_runner

    with create_runner(path, backend="tensorrt") as runner:
        return runner.infer(x)
