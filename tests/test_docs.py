"""README.md and every docs/*.md page work as written: their shell commands and ```python blocks run, their
links resolve, and nothing cites a design file that is not in the repository.

How a page's code blocks are tested (the convention is in docs/index.md, "How the pages are tested"):

- ```bash and ```python blocks run, in the order of the page, in one temporary folder per page, so a block can
  use the files an earlier block of the same page wrote. ``edge-saliency`` and ``python`` are this interpreter's.
- A block right after ``<!-- docs-test: check-only (why) -->`` needs what this machine cannot have (TensorRT, a
  GPU, a camera, a dataset, the network, minutes of compute): its shell is checked by ``bash -n``, every
  ``edge-saliency`` command in it (also under ``torchrun ... -m edge_saliency``) is parsed by the real argument
  parser, so its subcommand and options exist; a Python block is compiled and its ``edge_saliency`` imports
  are resolved.
- ```text and ```console blocks are output, ```json blocks must parse; every fenced block names its language.
- An ``edge-saliency export`` command that reads no file of the page runs once per test session; pages that
  give the same command get a copy of its files (the exports are the slow part).
"""
import ast
import hashlib
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = re.compile(r"<!-- docs-test: (check-only) \(([^)]+)\) -->")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
RUNNABLE = {"bash", "python"}
LANGUAGES = RUNNABLE | {"text", "console", "json", "cmake", "yaml"}
TIMEOUT = 600


def pages():
    """README.md and every docs/*.md, as paths relative to the repository root."""
    docs = sorted(name for name in os.listdir(os.path.join(ROOT, "docs")) if name.endswith(".md"))
    return ["README.md"] + ["docs/" + name for name in docs]


class Block:
    def __init__(self, page, line, language, code, mark):
        self.page, self.line, self.language, self.code, self.mark = page, line, language, code, mark

    def where(self):
        return "{}:{} ({})".format(self.page, self.line, self.language)


def blocks(page):
    """Every fenced block of a page, with its language and the docs-test mark on the line before it."""
    text = open(os.path.join(ROOT, page), encoding="utf-8").read()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.match(before.strip())
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(page, line, match.group(1).strip(), match.group(2), mark.group(1) if mark else None))
    return found


def commands(code):
    """The logical lines of a shell block: continuation lines joined, blank and comment lines dropped."""
    joined, current = [], ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip() and not current.strip().startswith("#"):
            joined.append(current.strip())
        current = ""
    return joined


def edge_saliency_argvs(command):
    """The argument lists of the ``edge-saliency`` invocations in one shell command line."""
    tokens = shlex.split(command, comments=True)
    argvs, part = [], []
    for token in tokens + ["&&"]:
        if token in ("&&", "||", "|", ";"):
            if part and part[0] == "edge-saliency":
                argvs.append(part[1:])
            elif "-m" in part and part.index("-m") + 1 < len(part) and part[part.index("-m") + 1] == "edge_saliency":
                argvs.append(part[part.index("-m") + 2:])
            part = []
        elif not (not part and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token)):  # skip VAR=value prefixes
            part.append(token)
    return argvs


def check_argv(argv, where):
    from edge_saliency.cli import build_parser

    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail("{}: `edge-saliency {}` does not parse (exit {})".format(where, " ".join(argv), exc.code))


def check_python_imports(code, where):
    """Compile the block and resolve every name it imports from edge_saliency."""
    tree = ast.parse(compile(code, where, "exec", ast.PyCF_ONLY_AST))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "edge_saliency":
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name):
                    importlib.import_module(node.module + "." + alias.name)  # a submodule, or ImportError
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "edge_saliency":
                    importlib.import_module(alias.name)


# -- running ---------------------------------------------------------------------------------------------------


def environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("DISPLAY", None)  # no window, whatever the machine that runs the tests has
    env.pop("WAYLAND_DISPLAY", None)
    return env


# `edge-saliency` and `python` are the interpreter that runs the tests, with this checkout first on its path
PRELUDE = 'set -eo pipefail\nedge-saliency() {{ {0} -m edge_saliency "$@"; }}\npython() {{ {0} "$@"; }}\n'.format(
    shlex.quote(sys.executable))


def run_shell(command, cwd, where):
    result = subprocess.run(["bash", "-c", PRELUDE + command], cwd=cwd, env=environment(), capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert result.returncode == 0, "{}: `{}` exited {}:\n{}".format(
        where, command, result.returncode, (result.stdout + result.stderr)[-3000:])


def reads_page_files(command, cwd):
    return any(os.path.exists(os.path.join(cwd, token.split("=", 1)[-1]))
               for token in shlex.split(command, comments=True)[1:])


def run_export(command, cwd, cache, where):
    """An export that reads no file of the page runs once per session; its files are copied into the page."""
    folder = os.path.join(cache, hashlib.sha256(command.encode()).hexdigest()[:16])
    if not os.path.isdir(folder):
        os.makedirs(folder + ".tmp", exist_ok=True)
        run_shell(command, folder + ".tmp", where)
        os.rename(folder + ".tmp", folder)
    for name in os.listdir(folder):
        source, target = os.path.join(folder, name), os.path.join(cwd, name)
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)


@pytest.fixture(scope="session")
def export_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("docs-exports"))


def test_every_page_is_found_and_has_examples():
    assert "docs/index.md" in pages() and len(pages()) >= 10
    runnable = [b for p in pages() for b in blocks(p) if b.language in RUNNABLE and not b.mark]
    assert len(runnable) >= 20


@pytest.mark.parametrize("page", pages())
def test_page_code_blocks(page, tmp_path, export_cache):
    """Every block of the page, in order: run, or checked when marked check-only; output blocks parse."""
    for block in blocks(page):
        where = block.where()
        assert block.language in LANGUAGES, "{}: a fenced block names its language, one of {}".format(
            where, sorted(LANGUAGES))
        if block.language == "json":
            json.loads(block.code)
        if block.language == "yaml" and importlib.util.find_spec("yaml") is not None:  # PyYAML, when installed
            importlib.import_module("yaml").safe_load(block.code)
        if block.language not in RUNNABLE:
            continue
        if block.language == "python":
            if block.mark:
                check_python_imports(block.code, where)
                continue
            result = subprocess.run([sys.executable, "-c", block.code], cwd=str(tmp_path), env=environment(),
                                    capture_output=True, text=True, timeout=TIMEOUT)
            assert result.returncode == 0, "{}:\n{}".format(where, (result.stdout + result.stderr)[-3000:])
            continue
        syntax = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True)
        assert syntax.returncode == 0, "{}: {}".format(where, syntax.stderr)
        for command in commands(block.code):
            argvs = edge_saliency_argvs(command)
            for argv in argvs:
                check_argv(argv, where)
            if block.mark:
                continue
            if argvs and argvs[0][:1] == ["export"] and "--check" not in argvs[0] and not reads_page_files(
                    command, str(tmp_path)):
                run_export(command, str(tmp_path), export_cache, where)
            else:
                run_shell(command, str(tmp_path), where)


def test_marks_name_a_reason_and_sit_on_code():
    for page in pages():
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        for match in re.finditer(r"^[ \t]*<!-- docs-test:.*?-->[ \t]*$", text, re.M):
            assert MARK.fullmatch(match.group(0).strip()), "{}: {!r}: use <!-- docs-test: check-only (why) -->".format(
                page, match.group(0))
            following = text[match.end():].lstrip("\n")
            assert following.startswith("```bash") or following.startswith("```python"), (
                "{}: {} must be followed by a bash or python block".format(page, match.group(0)))


def test_readme_setup_commands_are_the_ones_ci_runs():
    """README's install and test commands are exactly those of .ci/run (a fresh clone, CPU only)."""
    ci = [line.strip() for line in open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8")
          if line.strip().startswith(("pip install", "python -m pytest"))]
    readme = [c for b in blocks("README.md") if b.language == "bash" for c in commands(b.code)]
    assert len(ci) == 2
    for line in ci:
        assert line in readme, "README.md does not show .ci/run's `{}`".format(line)


# -- links -----------------------------------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path):
    """GitHub's anchors of a markdown file's headings."""
    text = re.sub(FENCE, "", open(path, encoding="utf-8").read())
    slugs = set()
    for heading in re.findall(r"^#{1,6} (.+?)\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        slugs.add(slug)
    return slugs


@pytest.mark.parametrize("page", pages())
def test_relative_links_resolve(page):
    text = re.sub(FENCE, "", open(os.path.join(ROOT, page), encoding="utf-8").read())
    text = re.sub(r"`[^`\n]*`", "", text)  # code spans are not links
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: outside the repository
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(page), path)) if path else os.path.join(
            ROOT, page)
        assert os.path.exists(resolved), "{}: link {} points to a missing file".format(page, target)
        if anchor and resolved.endswith(".md"):
            assert anchor in anchors(resolved), "{}: link {}: no heading with that anchor".format(page, target)


def test_docs_index_lists_every_page():
    index = open(os.path.join(ROOT, "docs", "index.md"), encoding="utf-8").read()
    linked = {os.path.normpath(target.partition("#")[0]) for target in LINK.findall(index)}
    missing = [page for page in pages() if page.startswith("docs/") and page != "docs/index.md"
               and os.path.basename(page) not in linked]
    assert not missing, "docs/index.md does not link {}".format(missing)


# -- no citations of a design file outside the repository -------------------------------------------------------

FOREIGN_DESIGN = "DESIGN" + ".md"  # split so that this file does not cite it either
SKIP_DIRS = {".git", ".venv", "build", "engines", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}


def test_nothing_cites_a_design_file_outside_the_repository():
    """Design facts the code relies on are in docs/design.md; no file cites another design document."""
    hits = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith((".py", ".md", ".txt", ".cpp", ".h", ".cu", ".cuh", ".cmake", ".toml", ".cfg", ".json",
                              ".sh")) or name in ("CMakeLists.txt", "run"):
                try:
                    text = open(path, encoding="utf-8").read()
                except (UnicodeDecodeError, OSError):
                    continue
                for number, line in enumerate(text.splitlines(), 1):
                    if FOREIGN_DESIGN in line and not path.endswith(os.path.join("tests", "test_docs.py")):
                        hits.append("{}:{}".format(os.path.relpath(path, ROOT), number))
    assert not hits, "cite docs/design.md (a section of it) instead: " + ", ".join(hits)
