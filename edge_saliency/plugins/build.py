"""Build the native libraries with CMake (what ``edge-saliency build-plugin`` runs).

CMake reports each part in one line (``-- edge-saliency: <part>: building ... | skipped (<why>)``);
:func:`build_plugins` collects them into a :class:`BuildReport`: what was built (with paths) and what was
skipped and why. The full log is kept in ``<build dir>/edge_saliency_build.log``.
"""
import os
import re
import shutil
import subprocess
import sys
from typing import Callable, Dict, List, Optional, Sequence

from ..errors import UserError
from ..files.atomic import atomic_write_text
from .library import BUILD_COMMAND, LIBRARIES, default_build_dir, source_dir

Progress = Optional[Callable[[str], None]]

PARTS = {"host library": "host", "CUDA library": "cuda", "TensorRT plugin": "tensorrt",
         "TensorRT autoregister": "autoregister"}
BUILD_TYPES = ("Release", "Debug", "RelWithDebInfo", "MinSizeRel")
_REPORT = re.compile(r"^(?:-- )?edge-saliency: ({}): (.*)$".format("|".join(PARTS)))
_LACKS = re.compile(r"^(?:-- )?edge-saliency: CUDA architectures: this nvcc lacks: ?(.*)$")
_BUILT_FOR = re.compile(r"with nvcc (\S+) for (\S+)")
_STEP = re.compile(r"^\[\s*\d+%\]")  # make / ninja progress lines: "[ 40%] Building CUDA object ..."
# the boards behind the Jetson architectures (desktop GPUs are many; Jetsons are named)
BOARDS = {"72": "Jetson Xavier", "87": "Jetson Orin", "110": "Jetson Thor", "53": "Jetson Nano", "62": "Jetson TX2"}


class BuildReport:
    """What one CMake run built (kind -> library path) and skipped (kind -> reason)."""

    def __init__(self, build_dir: str) -> None:
        self.build_dir = build_dir
        self.built: Dict[str, str] = {}
        self.skipped: Dict[str, str] = {}
        self.messages: List[str] = []
        self.log_path = os.path.join(build_dir, "edge_saliency_build.log")
        self.nvcc: Optional[str] = None
        self.cuda_archs: List[str] = []  # CMAKE_CUDA_ARCHITECTURES as built ("75-real", ..., "120")
        self.archs_lacking: List[str] = []  # wanted by default, not supported by this nvcc ("72" on CUDA 13)

    def read_configure(self, output: str) -> None:
        """The parts, the CUDA architectures and those this nvcc cannot build, from CMake's configure output."""
        for line in output.splitlines():
            lacks = _LACKS.match(line.strip())
            if lacks:
                self.archs_lacking = [a for a in re.split(r"[;\s]+", lacks.group(1)) if a]
                continue
            match = _REPORT.match(line.strip())
            if not match:
                continue
            kind, text = PARTS[match.group(1)], match.group(2)
            self.messages.append("{}: {}".format(match.group(1), text))
            if text.startswith("skipped"):
                self.skipped[kind] = text[len("skipped"):].strip().strip("()")
                continue
            self.built[kind] = os.path.join(self.build_dir, LIBRARIES[kind])
            built_for = _BUILT_FOR.search(text) if kind == "cuda" else None
            if built_for:
                self.nvcc, self.cuda_archs = built_for.group(1), built_for.group(2).split(";")

    def architectures(self) -> Optional[str]:
        """"sm_75 sm_80 ... sm_120 (+ PTX compute_120); not built: sm_72 (Jetson Xavier): nvcc 13.0 has dropped it
        ...", or None when no CUDA code was built."""
        if not self.cuda_archs:
            return None
        sass = ["sm_" + a.split("-")[0] for a in self.cuda_archs]
        ptx = ["compute_" + a for a in self.cuda_archs if "-" not in a and a not in ("native", "all", "all-major")]
        text = " ".join(sass) + (" (+ PTX {}, which newer GPUs compile at load time)".format(" ".join(ptx))
                                 if ptx else "")
        if self.archs_lacking:
            named = ", ".join("sm_{}{}".format(a, " ({})".format(BOARDS[a]) if a in BOARDS else "")
                              for a in self.archs_lacking)
            text += "; not built: {} (nvcc {} cannot compile for {}{})".format(
                named, self.nvcc or "", "it" if len(self.archs_lacking) == 1 else "them",
                ": CUDA 13 dropped sm_72; for Xavier build on the board with its JetPack CUDA, or with a CUDA 12 "
                "nvcc" if "72" in self.archs_lacking else "")
        return text

    def summary(self) -> str:
        lines = ["built in {}:".format(self.build_dir)]
        names = {v: k for k, v in PARTS.items()}
        for kind, path in self.built.items():
            lines.append("  {:<16} {}".format(names[kind], path))
        archs = self.architectures()
        if archs:
            lines.append("CUDA architectures: " + archs)
        if self.skipped:
            lines.append("skipped:")
            for kind, reason in self.skipped.items():
                lines.append("  {:<16} {}".format(names[kind], reason))
        return "\n".join(lines)


def _cmake() -> str:
    cmake = shutil.which("cmake")
    if cmake is None:
        raise UserError("{} needs CMake >= 3.18: install it (pip install cmake, or apt install cmake)".format(
            BUILD_COMMAND))
    return cmake


def _run(command: List[str], log: List[str], what: str, log_path: str, progress: Progress = None) -> str:
    """Run a CMake step; its progress lines ("[ 40%] Building CUDA object ...") go to ``progress`` as they come."""
    log.append("$ " + " ".join(command))
    lines: List[str] = []
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            lines.append(line)
            if progress is not None and _STEP.match(line.strip()):
                progress(line.strip())
        returncode = process.wait()
    except BaseException:  # Ctrl-C: stop the compilers too
        process.kill()
        process.wait()
        raise
    output = "".join(lines)
    log.append(output)
    if returncode != 0:
        atomic_write_text(log_path, "\n".join(log))
        tail = [line for line in output.strip().splitlines() if line.strip()][-12:]
        raise UserError("CMake {} failed (exit {}); full log: {}\n{}".format(
            what, returncode, log_path, "\n".join(tail)))
    return output


def build_plugins(
    build_dir: Optional[str] = None,
    source: Optional[str] = None,
    tensorrt_root: Optional[str] = None,
    trt_include: Optional[str] = None,
    trt_lib: Optional[str] = None,
    cuda_archs: Optional[str] = None,
    build_type: str = "Release",
    cuda: bool = True,
    tensorrt: bool = True,
    require_tensorrt: bool = False,
    tests: bool = True,
    jobs: Optional[int] = None,
    cmake_args: Sequence[str] = (),
    progress: Progress = None,
) -> BuildReport:
    """Configure and build ``plugins/`` with CMake into ``build_dir`` (default: ``<repository>/build/plugins`` in
    an editable checkout, else the user's ``~/.cache/edge-saliency/plugins``, see
    :func:`~edge_saliency.plugins.library.default_build_dir`); ``progress`` receives CMake's progress lines.

    ``cuda_archs`` is CMAKE_CUDA_ARCHITECTURES ("87", "87;110", "native"; default: Jetson + desktop archs that
    nvcc supports). Parts whose toolchain is missing are skipped and reported, not errors, unless
    ``require_tensorrt``. ``cmake_args``: more ``-D`` definitions (e.g. ES_TENSORRT_CHECK_ROOTS, for CI).
    """
    source = source or source_dir()
    if source is None or not os.path.isfile(os.path.join(source, "CMakeLists.txt")):
        raise UserError("the plugin sources (CMakeLists.txt, plugins/) are not beside this installation; run {} "
                        "from a clone of edge-saliency installed with pip install -e, or pass --source".format(
                            BUILD_COMMAND))
    if build_type not in BUILD_TYPES:
        raise UserError("unknown build type '{}'; use one of: {}".format(build_type, ", ".join(BUILD_TYPES)))
    for name, folder in (("TensorRT_ROOT", tensorrt_root), ("TRT_INCLUDE", trt_include), ("TRT_LIB", trt_lib)):
        if folder and not os.path.isdir(folder):
            raise UserError("{} '{}' is not a folder".format(name, folder))
    build_dir = os.path.abspath(build_dir or default_build_dir())
    os.makedirs(build_dir, exist_ok=True)
    report = BuildReport(build_dir)
    cmake = _cmake()

    def on_off(flag: bool) -> str:
        return "ON" if flag else "OFF"

    configure = [cmake, "-S", os.path.abspath(source), "-B", build_dir, "-DCMAKE_BUILD_TYPE=" + build_type,
                 "-DES_BUILD_CUDA=" + on_off(cuda), "-DES_BUILD_TENSORRT=" + on_off(tensorrt),
                 "-DES_REQUIRE_TENSORRT=" + on_off(require_tensorrt), "-DES_BUILD_TESTS=" + on_off(tests),
                 "-DES_PYTHON=" + sys.executable]
    for name, value in (("TensorRT_ROOT", tensorrt_root), ("TRT_INCLUDE", trt_include), ("TRT_LIB", trt_lib),
                        ("CMAKE_CUDA_ARCHITECTURES", cuda_archs)):
        if value:
            configure.append("-D{}={}".format(name, os.path.abspath(value) if name != "CMAKE_CUDA_ARCHITECTURES"
                                              else value))
    configure.extend(cmake_args)
    log: List[str] = []
    if progress is not None:
        progress("configuring with CMake ({})".format(os.path.abspath(source)))
    report.read_configure(_run(configure, log, "configure", report.log_path))
    if progress is not None:
        archs = report.architectures()
        progress("compiling {}{}".format(", ".join(sorted(report.built)), "; CUDA architectures: " + archs
                                         if archs else ""))
    build = [cmake, "--build", build_dir, "--parallel", str(jobs or os.cpu_count() or 1)]
    _run(build, log, "build", report.log_path, progress)
    atomic_write_text(report.log_path, "\n".join(log))
    for kind, path in list(report.built.items()):
        if not os.path.isfile(path):
            raise UserError("CMake reported {} but {} is missing; full log: {}".format(kind, path, report.log_path))
    return report


def run_ctest(build_dir: str, label: Optional[str] = None) -> str:
    """Run the tests (CTest) of a build folder: the host library's and, with TensorRT, the plugin's; a
    :class:`UserError` with their output when one fails. ``label`` selects the CI header checks
    ("tensorrt_check", built separately, see CMakeLists.txt), which are left out otherwise."""
    ctest = shutil.which("ctest")
    if ctest is None:
        raise UserError("ctest (part of CMake) is not on PATH")
    selection = ["-L", label] if label else ["-LE", "tensorrt_check"]
    result = subprocess.run([ctest, "--output-on-failure"] + selection, cwd=build_dir, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise UserError("the tests failed:\n" + result.stdout[-3000:])
    return result.stdout
