"""The Python names each TensorRT version really has, derived from NVIDIA's pybind11 binding sources.

    python tests/engine/tensorrt_api.py [SHARED_TENSORRT]     # rewrites tests/engine/tensorrt_api.json

The sources are ``<reference>/python-bindings/<version>/python/src/**/*.cpp`` (NVIDIA/TensorRT, see that
folder's README). A small reader, not a C++ parser: it follows the binding statements the way pybind11 defines
them and records names only:

- ``py::class_<T, ...>(scope, "Name")`` / ``py::class_<T, ...> var{scope, "Name"}`` and the calls chained on it or
  on ``var``: ``.def("x")``, ``.def_static``, ``.def_property*``, ``.def_readwrite`` / ``.def_readonly`` -> class
  attributes (constructors ``.def(py::init...)`` have no name and are skipped); template arguments that are
  bound types are its base classes (their attributes are inherited);
- ``py::enum_<T>(scope, "Name")`` with ``.value("X")`` -> enum members; ``.export_values()`` also puts them in the
  enclosing scope (``ILogger.WARNING``);
- ``m.def("f")`` / ``m.attr("x") = ...`` / ``py::bind_vector<...>(m, "Name")`` -> module attributes.

Preprocessor branches: the full ``tensorrt`` module is built with ``EXPORT_ALL_BINDINGS`` 1 and without
``ENABLE_INETWORK_SERIALIZE`` / ``ENABLE_MDTRT``, on Linux; pybind11 is >= 2.6. The snapshot (``tensorrt_api.json``) is
committed so that the fakes built from it work in a clone without ``../shared``; a test re-derives it when the
sources are there. ``__version__`` is added by the package's ``__init__.py``, not by the bindings.
"""
import json
import os
import re
import sys
from typing import Callable, Dict, List, Optional, Set, Tuple

VERSIONS = ("8.5.3", "8.6.1", "10.0", "10.16", "11.1")
SNAPSHOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensorrt_api.json")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON_SIDE = ["__version__"]  # set in tensorrt/__init__.py
DEFINES = {"EXPORT_ALL_BINDINGS": True, "ENABLE_INETWORK_SERIALIZE": False, "ENABLE_MDTRT": False,
           "defined(_WIN32)": False, "!defined(WIN32_LEAN_AND_MEAN)": True}  # Linux (desktop and Jetson)
CHAIN_CALLS = ("def", "def_static", "def_property", "def_property_readonly", "def_property_static",
               "def_property_readonly_static", "def_readwrite", "def_readonly", "def_readwrite_static",
               "def_readonly_static")


def shared_tensorrt() -> Optional[str]:
    """The TensorRT reference folder (tests/trt_reference.py: ``$EDGE_SALIENCY_TRT_REFERENCE`` or
    ``../shared/tensorrt``); None in a user's clone."""
    if ROOT not in sys.path:  # also when run as a script
        sys.path.insert(0, ROOT)
    from tests.trt_reference import reference_dir

    return reference_dir()


# -- reading the C++ text ------------------------------------------------------------------------------------


def _condition(text: str) -> bool:
    text = text.strip()
    if text.startswith("PYBIND11_VERSION"):
        return False  # "pybind11 older than 2.6" branches
    if text not in DEFINES:
        raise ValueError("unknown preprocessor condition: #if {}".format(text))
    return DEFINES[text]


def _preprocess(source: str) -> str:
    """Drop comments and the branches of #if / #ifdef that the full module does not compile."""
    source = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
    lines, stack = [], [True]
    for line in source.splitlines():
        stripped = line.strip()
        directive = re.match(r"#\s*(if|ifdef|ifndef|else|elif|endif)\b(.*)", stripped)
        if directive:
            kind, rest = directive.groups()
            if kind == "if":
                stack.append(stack[-1] and _condition(rest))
            elif kind in ("ifdef", "ifndef"):
                stack.append(stack[-1])  # include guards and platform switches: keep
            elif kind == "else":
                parent = all(stack[:-1])
                stack[-1] = parent and not stack[-1]
            elif kind == "endif":
                stack.pop()
            lines.append("")
            continue
        lines.append(_strip_line_comment(line) if stack[-1] else "")
    return "\n".join(lines)


def _strip_line_comment(line: str) -> str:
    out, in_string, i = [], False, 0
    while i < len(line):
        ch = line[i]
        if in_string:
            out.append(ch)
            if ch == "\\":
                out.append(line[i + 1:i + 2])
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif line.startswith("//", i):
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _statements(source: str) -> List[str]:
    """Split at ``;`` and braces outside parentheses; a brace initializer ``var{...}`` stays in its statement."""
    statements, current, depth, init_depth, in_string, in_char = [], [], 0, 0, False, False
    i = 0
    while i < len(source):
        ch = source[i]
        if in_string or in_char:
            current.append(ch)
            if ch == "\\":
                current.append(source[i + 1:i + 2])
                i += 1
            elif (ch == '"' and in_string) or (ch == "'" and in_char):
                in_string = in_char = False
        elif ch == '"':
            in_string = True
            current.append(ch)
        elif ch == "'":
            in_char = True
            current.append(ch)
        elif ch in "([":
            depth += 1
            current.append(ch)
        elif ch in ")]":
            depth -= 1
            current.append(ch)
        elif ch == "{" and depth == 0:
            text = "".join(current)
            if re.search(r"py::class_<.*>\s*\w+$", text, flags=re.S):  # py::class_<...> var{m, "Name"}
                init_depth += 1
                current.append("(")
            else:
                statements.append(text)
                current = []
        elif ch == "}" and depth == 0:
            if init_depth:
                init_depth -= 1
                current.append(")")
            else:
                statements.append("".join(current))
                current = []
        elif ch == "{":
            depth += 1  # a lambda body inside a call
            current.append(ch)
        elif ch == "}":
            depth -= 1
            current.append(ch)
        elif ch == ";" and depth == 0 and not init_depth:
            statements.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current))
    return [" ".join(s.split()) for s in statements if s.strip()]


def _balanced(text: str, start: int, open_ch: str, close_ch: str) -> int:
    """Index just after the bracket that closes the one at ``start``."""
    depth, in_string, i = 0, False, start
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == open_ch:
            depth += 1
        elif ch == close_ch:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced {} in: {}".format(open_ch, text[start:start + 200]))


def _split_top(text: str) -> List[str]:
    """Top-level comma-separated parts (template args or call args)."""
    parts, depth, current, in_string = [], 0, [], False
    for ch in text:
        if in_string:
            current.append(ch)
            if ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "(<[{":
            depth += 1
        elif ch in ")>]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


def _chain(text: str) -> List[Tuple[str, Optional[str]]]:
    """The ``.call("name", ...)`` calls chained at the top level of ``text``: (call, first string arg or None)."""
    calls, i = [], 0
    while i < len(text):
        match = re.compile(r"\.\s*(\w+)\s*\(").match(text, i)
        if match:
            end = _balanced(text, match.end() - 1, "(", ")")
            args = _split_top(text[match.end():end - 1])
            first = args[0] if args else ""
            name = first[1:-1] if first.startswith('"') and first.endswith('"') else None
            calls.append((match.group(1), name))
            i = end
        else:
            i += 1
    return calls


class _Api:
    def __init__(self) -> None:
        self.module: Set[str] = set(PYTHON_SIDE)
        self.classes: Dict[str, Set[str]] = {}
        self.enums: Dict[str, List[str]] = {}
        self.bases: Dict[str, List[str]] = {}  # python name -> C++ template args after the first
        self.cpp_names: Dict[str, str] = {}  # C++ type -> python name
        self.variables: Dict[str, str] = {}  # C++ variable -> python name

    def scope_add(self, scope: str, name: str) -> None:
        if scope == "m":
            self.module.add(name)
        elif scope in self.variables:
            self.classes.setdefault(self.variables[scope], set()).add(name)

    def statement(self, text: str) -> None:
        binding = re.match(r"py::(class_|enum_)\s*<", text)
        if binding:
            self._binding(binding.group(1), text, binding.end() - 1)
            return
        bound = re.match(r"py::bind_(?:vector|map)\s*<", text)
        if bound:
            end = _balanced(text, bound.end() - 1, "<", ">")
            args = _split_top(text[end:].strip()[1:-1])
            if len(args) >= 2 and args[1].startswith('"'):
                self.scope_add(args[0], args[1].strip('"'))
            return
        module_def = re.match(r"m\s*\.\s*def\s*\(\s*\"(\w+)\"", text)
        if module_def:
            self.module.add(module_def.group(1))
            return
        module_attr = re.match(r"m\s*\.\s*attr\s*\(\s*\"(\w+)\"\s*\)\s*=", text)
        if module_attr:
            self.module.add(module_attr.group(1))
            return
        variable = re.match(r"(\w+)\s*\.", text)
        if variable and variable.group(1) in self.variables:
            self._apply_chain(self.variables[variable.group(1)], text[len(variable.group(1)):], enum=False,
                              scope=None)

    def _binding(self, kind: str, text: str, template_at: int) -> None:
        end = _balanced(text, template_at, "<", ">")
        template = _split_top(text[template_at + 1:end - 1])
        rest = text[end:]
        ctor = re.match(r"\s*(\w+)?\s*\(", rest)
        if not ctor:
            return
        variable = ctor.group(1)
        open_at = end + ctor.end() - 1
        close_at = _balanced(text, open_at, "(", ")")
        args = _split_top(text[open_at + 1:close_at - 1])
        if len(args) < 2 or not args[1].startswith('"'):
            return
        scope, name = args[0], args[1].strip('"')
        self.cpp_names[template[0]] = name
        if variable:
            self.variables[variable] = name
        self.scope_add(scope, name)
        if kind == "class_":
            self.classes.setdefault(name, set())
            self.bases[name] = template[1:]
        else:
            self.enums.setdefault(name, [])
        self._apply_chain(name, text[close_at:], enum=kind == "enum_", scope=scope)

    def _apply_chain(self, name: str, chain: str, enum: bool, scope: Optional[str]) -> None:
        for call, arg in _chain(chain):
            if enum and call == "value" and arg:
                self.enums[name].append(arg)
            elif enum and call == "export_values" and scope is not None:
                for value in self.enums[name]:
                    self.scope_add(scope, value)
            elif call in CHAIN_CALLS and arg:
                self.classes.setdefault(name, set()).add(arg)

    def result(self) -> Dict[str, object]:
        classes = {}
        for name, attrs in self.classes.items():
            bases = [self.cpp_names[t] for t in self.bases.get(name, []) if t in self.cpp_names]
            classes[name] = {"bases": bases, "attrs": sorted(a for a in attrs if not a.startswith("__"))}
        return {"module": sorted(self.module), "classes": dict(sorted(classes.items())),
                "enums": dict(sorted(self.enums.items()))}


def derive_version(folder: str) -> Dict[str, object]:
    """Module names, classes (attributes, bases) and enums of one version's binding sources."""
    api = _Api()
    sources = []
    for where, _, files in sorted(os.walk(folder)):
        sources += [os.path.join(where, f) for f in sorted(files) if f.endswith(".cpp")]
    if not sources:
        raise FileNotFoundError("no binding sources under {}".format(folder))
    for path in sources:
        with open(path, encoding="utf-8") as f:
            text = _preprocess(f.read())
        for statement in _statements(text):
            api.statement(statement)
    return api.result()


def derive(shared: str) -> Dict[str, Dict[str, object]]:
    """Per version: {"module": [...], "classes": {name: {"bases", "attrs"}}, "enums": {name: [...]}}."""
    bindings = os.path.join(shared, "python-bindings")
    return {v: derive_version(os.path.join(bindings, v, "python", "src")) for v in VERSIONS}


# -- the compact snapshot: every name once, tagged with the versions that have it -----------------------------
# "name" is in every version; "name@8.6.1-" from 8.6.1 on; "name@-10.16" up to 10.16; "name@10.0-10.16" in
# between; "name@8.5.3,11.1" in exactly those.


def _tag(name: str, present: List[str]) -> str:
    if len(present) == len(VERSIONS):
        return name
    first, last = VERSIONS.index(present[0]), VERSIONS.index(present[-1])
    if last - first + 1 == len(present):
        return "{}@{}-{}".format(name, present[0] if first else "", present[-1] if last < len(VERSIONS) - 1 else "")
    return "{}@{}".format(name, ",".join(present))


def _untag(entry: str) -> Tuple[str, List[str]]:
    name, _, span = entry.partition("@")
    if not span:
        return name, list(VERSIONS)
    if "-" not in span:
        return name, span.split(",")
    low, high = span.split("-")
    first = VERSIONS.index(low) if low else 0
    last = VERSIONS.index(high) if high else len(VERSIONS) - 1
    return name, list(VERSIONS[first:last + 1])


def _tagged(per_version: Dict[str, List[str]]) -> List[str]:
    """Names in first-seen order (enum members keep their declaration order), each tagged."""
    order: List[str] = []
    for version in VERSIONS:
        order += [n for n in per_version.get(version, []) if n not in order]
    return [_tag(n, [v for v in VERSIONS if n in per_version.get(v, [])]) for n in order]


def encode(api: Dict[str, Dict[str, object]]) -> Dict[str, object]:
    def keys(section: str) -> List[str]:
        return _tagged({v: sorted(api[v][section]) for v in VERSIONS})  # type: ignore[arg-type]

    classes: Dict[str, object] = {}
    for entry in keys("classes"):
        name, present = _untag(entry)
        classes[entry] = {
            "bases": _tagged({v: api[v]["classes"][name]["bases"] for v in present}),  # type: ignore[index]
            "attrs": _tagged({v: api[v]["classes"][name]["attrs"] for v in present}),  # type: ignore[index]
        }
    enums = {entry: _tagged({v: api[v]["enums"][_untag(entry)[0]] for v in _untag(entry)[1]})  # type: ignore
             for entry in keys("enums")}
    return {"about": "Python names of the tensorrt module per TensorRT version, derived by "
                     "tests/engine/tensorrt_api.py from NVIDIA/TensorRT's pybind11 sources (python/src); name@A-B: "
                     "only in versions A to B",
            "versions": list(VERSIONS), "module": _tagged({v: api[v]["module"] for v in VERSIONS}),  # type: ignore
            "classes": classes, "enums": enums}


def decode(snapshot: Dict[str, object], version: str) -> Dict[str, object]:
    """One version's names from the snapshot: {"module": set, "classes": {name: {"bases", "attrs"}}, "enums"}."""
    def names(entries: List[str]) -> List[str]:
        return [n for n, present in map(_untag, entries) if version in present]

    classes = {}
    for entry, body in snapshot["classes"].items():  # type: ignore[attr-defined]
        name, present = _untag(entry)
        if version in present:
            classes[name] = {"bases": names(body["bases"]), "attrs": sorted(names(body["attrs"]))}
    enums = {_untag(e)[0]: names(values) for e, values in snapshot["enums"].items()  # type: ignore[attr-defined]
             if version in _untag(e)[1]}
    return {"module": sorted(names(snapshot["module"])), "classes": classes, "enums": enums}  # type: ignore


def dumps(data: Dict[str, object]) -> str:
    return json.dumps(data, indent=0, separators=(",", ":"), sort_keys=False) + "\n"


def load_snapshot() -> Dict[str, object]:
    with open(SNAPSHOT, encoding="utf-8") as f:
        return json.load(f)


def write_from_shared(argv: List[str], path: str, make_text: Callable[[str], str]) -> int:
    """The command line of the generators: ``make_text(<shared>/tensorrt)`` written to ``path``."""
    shared = argv[1] if len(argv) > 1 else shared_tensorrt()
    if not shared:
        print("no ../shared/tensorrt here; pass its path", file=sys.stderr)
        return 1
    text = make_text(shared)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote {} ({} bytes)".format(path, len(text)))
    return 0


if __name__ == "__main__":
    sys.exit(write_from_shared(sys.argv, SNAPSHOT, lambda shared: dumps(encode(derive(shared)))))
