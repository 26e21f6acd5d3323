"""The README's Python examples run as written (in a temporary folder)."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = "<!-- readme-test: skip"


def _python_blocks():
    """```python blocks, except those right after a "<!-- readme-test: skip (why) -->" line."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = []
    for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
        previous_line = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if not previous_line.startswith(SKIP):
            blocks.append(match.group(1))
    return blocks


def test_readme_has_examples():
    assert len(_python_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_example_runs(index, tmp_path):
    code = _python_blocks()[index]
    result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
