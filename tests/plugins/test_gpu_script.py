"""benchmarks/gpu_kernels.py on a machine without a GPU: its CPU part runs and it exits cleanly."""
import os
import subprocess
import sys

import pytest
import torch

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "benchmarks", "gpu_kernels.py")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: run the script itself")
def test_cpu_part_runs_and_exits_cleanly(plugin_build, tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, "--lib-dir", plugin_build.build_dir, "--cases", "8",
                             "--out", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "host library vs torch (CPU)" in result.stdout
    assert "no CUDA GPU visible to torch: GPU parity and timing skipped" in result.stdout
    assert not (tmp_path / "r.json").exists()


def test_bad_arguments_are_rejected():
    result = subprocess.run([sys.executable, SCRIPT, "--repeat", "1"], capture_output=True, text=True)
    assert result.returncode == 2 and "--repeat" in result.stderr
