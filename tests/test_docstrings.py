"""Every public class, function and method of the Python API (the modules docs/api.md lists) has a docstring."""
import importlib
import inspect
import os
import pkgutil
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# packages whose every submodule is API (the runner classes live in one module each)
WALKED = ("edge_saliency.runners",)
# ... but for the runners' own helpers (the CUDA interface and the stage clocks), which are not API
HELPERS = ("edge_saliency.runners.clocks", "edge_saliency.runners.cuda")


def api_modules():
    """The modules of docs/api.md's table (first column), and every submodule of the WALKED packages."""
    text = open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8").read()
    names = []
    for row in re.findall(r"^\| (`edge_saliency[^|]*)\|", text, re.M):
        names += re.findall(r"`(edge_saliency[\w.]*)`", row)
    for package in WALKED:
        names += [info.name for info in pkgutil.walk_packages(importlib.import_module(package).__path__,
                                                              package + ".") if info.name not in HELPERS]
    return sorted(set(names))


def _ours(obj):
    return (getattr(obj, "__module__", "") or "").split(".")[0] == "edge_saliency"


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return names


def undocumented():
    missing = set()
    for module_name in api_modules():
        module = importlib.import_module(module_name)
        for name in _public_names(module):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not _ours(obj):
                continue
            exported = hasattr(module, "__path__") or hasattr(module, "__all__")  # a package re-exports its API
            if obj.__module__ != module_name and not exported:
                continue  # imported for the module's own use
            label = "{}.{}".format(obj.__module__, obj.__qualname__)
            if not (obj.__doc__ or "").strip():
                missing.add(label)
            if not inspect.isclass(obj):
                continue
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if inspect.isfunction(function) and not (inspect.getdoc(getattr(obj, attr, None)) or "").strip() \
                        and not (function.__doc__ or "").strip():
                    missing.add("{}.{}".format(label, attr))
    return sorted(missing)


def test_api_modules_are_found():
    modules = api_modules()
    assert {"edge_saliency", "edge_saliency.pipeline.pipeline", "edge_saliency.runners.base",
            "edge_saliency.maths.metrics", "edge_saliency.export"} <= set(modules)


def test_every_public_name_of_the_api_has_a_docstring():
    missing = undocumented()
    assert not missing, "{} public names without a docstring:\n  {}".format(len(missing), "\n  ".join(missing))
