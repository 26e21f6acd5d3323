"""Fault injection: the commands run as a user runs them (a subprocess of ``python -m edge_saliency``) while the
disk fills, folders vanish, processes are killed, files are truncated and streams misbehave. Every case checks
the exit code, the one-line message, that no input changed (sha256 of every file before and after) and that no
output is half-written (no temp file left, every video under its final name reads back whole).

Helpers: :func:`cli` (with optional RLIMIT_FSIZE / RLIMIT_AS limits in the child), :func:`snapshot`,
:func:`assert_error`, :func:`assert_nothing_half_written`; fixtures: a short clip, a tiny ONNX model, a small
tmpfs where the test may mount one (root on Linux; skipped elsewhere), read-only folders.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.stream_fixtures import lite_files  # noqa: F401 (fixture: emlnet-lite as .safetensors and ONNX)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMP = re.compile(r"^\..*\.(tmp|bak)\d+(-\d+)?(\.[^.]*)?$")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".m4v")


def _limits(fsize=None, address_space=None):
    def apply():
        import resource

        # past RLIMIT_FSIZE the kernel sends SIGXFSZ, whose default action kills the process: ignored, writes
        # fail with EFBIG instead (edge-saliency's CLI ignores it too)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    return apply


def env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def start(*args, cwd=None, fsize=None, address_space=None):
    """``python -m edge_saliency ARGS`` started (Popen), with optional file-size / address-space limits."""
    return subprocess.Popen([sys.executable, "-m", "edge_saliency"] + [str(a) for a in args], cwd=cwd, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_limits(fsize, address_space))


def cli(*args, cwd=None, fsize=None, address_space=None, timeout=300):
    process = start(*args, cwd=cwd, fsize=fsize, address_space=address_space)
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def wait_for_line(process, marker, timeout=120.0):
    """Read the child's stderr until a line containing ``marker`` (the run's start line); returns the lines."""
    lines = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            break
    return lines


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def snapshot(*paths):
    """{path: sha256} of every file given or under a folder given (hidden ones included; symlinks by their
    target)."""
    files = {}
    for folder in paths:
        if os.path.isfile(str(folder)):
            files[str(folder)] = sha256(str(folder))
        for root, _, names in os.walk(str(folder)):
            for name in names:
                path = os.path.join(root, name)
                if os.path.isfile(path):
                    files[path] = sha256(path)
    return files


def temp_files(*folders):
    found = []
    for folder in folders:
        for root, _, names in os.walk(str(folder)):
            found += [os.path.join(root, n) for n in names if TEMP.match(n)]
    return found


def error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("edge-saliency: error:")]


def assert_error(result, pattern, code=1):
    """Exit ``code``, exactly one error line matching ``pattern``, no traceback, no "wrote" claim."""
    assert result.returncode == code, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr[-2000:]
    assert re.search(pattern, lines[0]), lines[0]
    assert not [line for line in result.stdout.splitlines() if line.startswith("wrote")], result.stdout


def video_frames(path):
    """(frames decoded, frames the container claims, (H, W)) of a video file."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    claimed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    decoded, size = 0, None
    while True:
        ok, image = capture.read()
        if not ok:
            break
        decoded += 1
        size = image.shape[:2]
    capture.release()
    return decoded, claimed, size


def assert_nothing_half_written(*folders, skip=()):
    """No temp file left; every video reads back whole, every JSON / JSON-lines file parses (``skip``: paths of
    inputs that are broken on purpose)."""
    assert temp_files(*folders) == []
    skip = {os.path.abspath(str(p)) for p in skip}
    for folder in folders:
        for root, _, names in os.walk(str(folder)):
            for name in names:
                path = os.path.join(root, name)
                if os.path.abspath(path) in skip:
                    continue
                if name.endswith(VIDEO_EXTENSIONS):
                    decoded, claimed, _ = video_frames(path)
                    assert decoded > 0 and decoded == claimed, (path, decoded, claimed)
                elif name.endswith(".jsonl"):
                    with open(path) as f:
                        for line in f:
                            json.loads(line)
                elif name.endswith(".json"):
                    with open(path) as f:
                        json.load(f)


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """A 24-frame 96×128 clip at 12 fps (real photos panned and zoomed)."""
    from edge_saliency.outputs.sample_clip import write_sample_clip

    return write_sample_clip(str(tmp_path_factory.mktemp("faults") / "in.mp4"), frames=24, size=(96, 128), fps=12.0)


@pytest.fixture
def work(tmp_path, clip):
    """A folder holding in.mp4 (a copy of the clip)."""
    shutil.copy(clip, str(tmp_path / "in.mp4"))
    return tmp_path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from tests.stream_fixtures import tiny_conv_onnx

    return tiny_conv_onnx(tmp_path_factory.mktemp("model") / "tiny.onnx", size=(64, 96))


@pytest.fixture(scope="session")
def lite_dynamic(tmp_path_factory):
    """emlnet-lite exported by edge-saliency at 64x96 with a dynamic batch and size (sidecar beside it)."""
    from edge_saliency.export import export_model

    path = str(tmp_path_factory.mktemp("dynamic") / "lite.onnx")
    export_model("emlnet-lite", path, input_size=(64, 96), dynamic=True)
    return path


def _mount_tmpfs(path, kib):
    os.makedirs(path, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size={}k".format(kib), "tmpfs", path],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """``small_disk(kib)``: a fresh tmpfs of that size (a disk that fills up); skipped where mounting is not
    allowed (not root, containers without CAP_SYS_ADMIN, not Linux)."""
    mounted = []

    def make(kib, name="disk"):
        path = str(tmp_path / name)
        if not sys.platform.startswith("linux") or not _mount_tmpfs(path, kib):
            pytest.skip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN on Linux)")
        mounted.append(path)
        return path

    yield make
    for path in mounted:
        subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def _try(*command):
    try:
        return subprocess.run(list(command), capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture
def protect():
    """``protect(path)``: make a file or folder impossible to change (chattr +i as root, else chmod a-w); skipped
    where neither works. Undone after the test."""
    protected = []

    def make(path):
        path = str(path)
        if _try("chattr", "+i", path):
            protected.append(("chattr", path))
        elif os.geteuid() != 0:
            mode = os.stat(path).st_mode
            os.chmod(path, mode & ~0o222)
            protected.append((mode, path))
        else:
            pytest.skip("root without chattr: cannot make {} read-only".format(path))
        probe = os.path.join(path, ".probe") if os.path.isdir(path) else None
        if probe is not None:
            try:
                open(probe, "w").close()
            except OSError:
                return path
            os.remove(probe)
            pytest.skip("{} is still writable after protecting it".format(path))
        return path

    yield make
    for how, path in reversed(protected):
        if how == "chattr":
            _try("chattr", "-i", path)
        else:
            os.chmod(path, how)
