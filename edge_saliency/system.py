"""What this machine has: CPU, GPU (name, compute capability, driver), CUDA, TensorRT, ONNX Runtime, torch,
and on Jetson the L4T / JetPack release, power mode and whether clocks are locked.

Every probe is cheap, never raises, and never imports torch unless asked (``use_torch=True``): engine cache
keys, ``selftest`` and benchmark results all record this. Python 3.8 (runs on deployed boards).
"""
import dataclasses
import functools
import importlib
import os
import platform
import re
import shutil
import subprocess
from typing import Any, Dict, List, Optional


@dataclasses.dataclass
class GpuInfo:
    name: str
    compute_capability: str  # "8.7"
    memory_mib: Optional[int] = None
    driver: Optional[str] = None
    source: str = ""  # which probe found it

    @property
    def sm(self) -> int:
        major, minor = self.compute_capability.split(".")
        return int(major) * 10 + int(minor)


def _run(command: List[str], timeout: float = 5.0) -> Optional[str]:
    if shutil.which(command[0]) is None:
        return None
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _read(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip("\x00\n ")
    except OSError:
        return None


# -- GPU -----------------------------------------------------------------------------------------------


def _gpu_from_cuda_python() -> Optional[GpuInfo]:
    for module in ("cuda.bindings.runtime", "cuda.cudart"):  # cuda-python >= 12.6 / older layout
        try:
            cudart: Any = importlib.import_module(module)
        except ImportError:
            continue
        try:
            err, count = cudart.cudaGetDeviceCount()
            if int(err) != 0 or count < 1:
                return None
            err, props = cudart.cudaGetDeviceProperties(0)
            if int(err) != 0:
                return None
            name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
            err, version = cudart.cudaDriverGetVersion()
            driver = "{}.{}".format(version // 1000, version % 1000 // 10) if int(err) == 0 else None
            return GpuInfo(
                name=name.strip("\x00 "),
                compute_capability="{}.{}".format(props.major, props.minor),
                memory_mib=int(props.totalGlobalMem) // (1 << 20),
                driver=driver,
                source="cuda-python",
            )
        except Exception:  # a broken driver install must not break a probe
            return None
    return None


def _gpu_from_nvidia_smi() -> Optional[GpuInfo]:
    out = _run(["nvidia-smi", "--query-gpu=name,compute_cap,memory.total,driver_version",
                "--format=csv,noheader,nounits"])
    if not out:
        return None
    fields = [f.strip() for f in out.splitlines()[0].split(",")]
    if len(fields) < 4 or not re.match(r"^\d+\.\d+$", fields[1]):
        return None
    memory = int(fields[2]) if fields[2].isdigit() else None
    return GpuInfo(fields[0], fields[1], memory, fields[3], source="nvidia-smi")


def _gpu_from_torch() -> Optional[GpuInfo]:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return GpuInfo(props.name, "{}.{}".format(props.major, props.minor), props.total_memory // (1 << 20),
                   source="torch")


def _gpu_from_jetson() -> Optional[GpuInfo]:
    # Jetson has no nvidia-smi GPU query; the SoC tells the compute capability
    model = _read("/proc/device-tree/model")
    if not model or "jetson" not in model.lower():
        return None
    lowered = model.lower()
    cc = "11.0" if "thor" in lowered else "8.7" if "orin" in lowered else "7.2" if "xavier" in lowered else "5.3"
    return GpuInfo(model, cc, source="device-tree")


@functools.lru_cache(maxsize=None)
def gpu_info(use_torch: bool = False) -> Optional[GpuInfo]:
    """The first CUDA GPU, or None. Tries cuda-python, nvidia-smi, the Jetson device tree, then torch."""
    probes = [_gpu_from_cuda_python, _gpu_from_nvidia_smi, _gpu_from_jetson]
    if use_torch:
        probes.append(_gpu_from_torch)
    for probe in probes:
        found = probe()
        if found is not None:
            return found
    return None


# -- Jetson --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class JetsonInfo:
    model: str
    l4t: Optional[str]  # "35.4.1"
    jetpack: Optional[str]  # "5.1.2", when the nvidia-jetpack package says so
    power_mode: Optional[str]  # nvpmodel -q
    clocks_locked: Optional[bool]  # jetson_clocks --show: min == max


def _l4t_release() -> Optional[str]:
    text = _read("/etc/nv_tegra_release")
    if not text:
        return None
    match = re.search(r"R(\d+).*?REVISION:\s*([\d.]+)", text)
    return "{}.{}".format(match.group(1), match.group(2)) if match else None


def jetson_info() -> Optional[JetsonInfo]:
    model = _read("/proc/device-tree/model")
    if not model or "jetson" not in model.lower():
        return None
    jetpack = _run(["dpkg-query", "--showformat=${Version}", "--show", "nvidia-jetpack"])
    power = _run(["nvpmodel", "-q"])
    power_mode = None
    if power:
        match = re.search(r"NV Power Mode:\s*(.+)", power)
        power_mode = match.group(1).strip() if match else power.splitlines()[0]
    clocks = _run(["jetson_clocks", "--show"])
    locked = None
    if clocks:
        pairs = re.findall(r"MinFreq=(\d+)\s+MaxFreq=(\d+)\s+CurrentFreq=(\d+)", clocks)
        locked = bool(pairs) and all(lo == hi == cur for lo, hi, cur in pairs)
    return JetsonInfo(model, _l4t_release(), jetpack.split("-")[0] if jetpack else None, power_mode, locked)


# -- packages ------------------------------------------------------------------------------------------


def tensorrt_version() -> Optional[str]:
    """The TensorRT Python package's version, or None (a stubs-only namespace package is not TensorRT)."""
    try:
        trt = importlib.import_module("tensorrt")
    except Exception:
        return None
    version = getattr(trt, "__version__", None)
    return str(version) if version and hasattr(trt, "Builder") else None


def package_version(module: str) -> Optional[str]:
    try:
        return str(getattr(importlib.import_module(module), "__version__", "unknown"))
    except Exception:
        return None


def cuda_runtime_version() -> Optional[str]:
    out = _run(["nvcc", "--version"]) or _run([os.path.join("/usr/local/cuda/bin", "nvcc"), "--version"])
    match = re.search(r"release ([\d.]+)", out or "")
    return match.group(1) if match else None


def cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return match.group(1).strip() if match else (platform.processor() or platform.machine())


def cpu_governor() -> Optional[str]:
    """The CPU frequency governor(s) (``performance``, ``schedutil``, ...; several joined by ``/``), or None
    where cpufreq is not exposed (many VMs)."""
    found = []
    for index in range(os.cpu_count() or 1):
        value = _read("/sys/devices/system/cpu/cpu{}/cpufreq/scaling_governor".format(index))
        if value and value not in found:
            found.append(value)
    return "/".join(found) or None


def performance_warnings(env: Dict[str, Any]) -> List[str]:
    """What makes timings on this machine unrepresentative or noisy, from :func:`environment`'s dict: on
    Jetson, clocks that are not locked (or could not be read) and an unknown power mode; elsewhere a CPU
    governor that scales the frequency."""
    warnings = []
    jetson = env.get("jetson")
    if jetson:
        if jetson.get("clocks_locked") is False:
            warnings.append("Jetson clocks are not locked: run `sudo jetson_clocks` before benchmarking (with "
                            "dynamic frequency scaling, latencies vary from run to run)")
        elif jetson.get("clocks_locked") is None:
            warnings.append("could not tell whether the Jetson clocks are locked (`jetson_clocks --show` needs "
                            "root): run `sudo jetson_clocks` before benchmarking, or run the benchmark with sudo")
        if not jetson.get("power_mode"):
            warnings.append("the Jetson power mode is unknown (`nvpmodel -q` failed): say which mode "
                            "(`sudo nvpmodel -q`) when you share these numbers")
    governor = env.get("cpu_governor")
    if governor and governor != "performance" and not (jetson and jetson.get("clocks_locked")):
        warnings.append("the CPU frequency governor is {!r}, not 'performance': CPU-side timings vary with the "
                        "clock".format(governor))
    return warnings


def environment(use_torch: bool = False) -> Dict[str, Any]:
    """Everything above as one JSON-ready dict (recorded with benchmarks, engines and selftest)."""
    gpu = gpu_info(use_torch)
    jetson = jetson_info()
    return {
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_governor": cpu_governor(),
        "gpu": dataclasses.asdict(gpu) if gpu else None,
        "cuda": cuda_runtime_version(),
        "tensorrt": tensorrt_version(),
        "onnxruntime": package_version("onnxruntime"),
        "torch": package_version("torch") if use_torch else None,
        "jetson": dataclasses.asdict(jetson) if jetson else None,
    }
