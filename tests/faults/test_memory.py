"""Input sizes the machine cannot hold: refused before the run by the lower-bound estimate, or, when the
estimate fits and the real allocation does not, the backend's allocation error as one line with the fix."""
import shutil

import pytest

from .conftest import assert_error, cli, snapshot


def copy_model(path, folder):
    model = str(folder / "lite.onnx")
    shutil.copy(path, model)
    shutil.copy(path + ".json", model + ".json")
    return model


def test_a_size_no_machine_holds_is_refused_before_the_run(work, lite_dynamic):
    model = copy_model(lite_dynamic, work)
    before = snapshot(work)
    result = cli("run", "in.mp4", "--model", model, "--size", "100000x100000", "-o", "out.mp4", "--no-display",
                 cwd=str(work), timeout=60)
    assert_error(result, "input 100000x100000 \\(batch 1\\) needs at least [0-9.]+ GiB for lite.onnx, and this "
                         "process can get .*; use a smaller --size \\(lite.onnx was made for 64x96\\)")
    assert snapshot(work) == before


def test_an_allocation_failure_is_one_line(work, lite_dynamic):
    """ulimit -v 2.5 GiB: the estimate for 3072x3072 fits, ONNX Runtime's arena then cannot get its buffers."""
    model = copy_model(lite_dynamic, work)
    size = "3072x3072"
    result = cli("run", "in.mp4", "--model", model, "--size", size, "--max-frames", 1, "-o", "out.mp4",
                 "--no-display", cwd=str(work), timeout=120, address_space=int(2.5 * (1 << 30)))
    if " -> " not in result.stderr:
        pytest.skip("the process did not get as far as the run under ulimit -v here: " + result.stderr[-300:])
    if result.returncode == 0:
        pytest.skip("{} fitted in 2.5 GiB of address space here".format(size))
    assert_error(result, "not enough memory to run .* at {} \\(batch 1\\): .*; use a smaller --size".format(size))
    assert not (work / "out.mp4").exists()
