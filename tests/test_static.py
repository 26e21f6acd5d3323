"""Static checks that CI runs as part of the test suite: Python 3.8 compatibility and lint."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tool(name):
    path = shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)
    if path is None:
        pytest.skip("{} is not installed (pip install -e \".[dev]\")".format(name))
    return path


def test_package_runs_on_python_3_8():
    # JetPack 5.1 (Xavier) ships Python 3.8: everything a deployed board imports must parse and run there.
    result = subprocess.run(
        [_tool("vermin"), "-t=3.8-", "--no-tips", "--violations", "--eval-annotations", "edge_saliency"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
