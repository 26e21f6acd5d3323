"""Fake ``tensorrt`` modules whose names are exactly those of a real TensorRT version.

The names come from ``tensorrt_api.json`` (derived from NVIDIA's binding sources, see ``tensorrt_api.py``); the
behaviour (recording calls, returning canned results) from small classes in the tests. A behaviour attribute
is attached only where the version has that name, every other name the version has is a placeholder, and a
name the version lacks raises ``AttributeError`` — reading it, calling it, or assigning it — as the real
pybind11 module does. So product code that touches a name a version lacks fails the test for that version.
"""
import enum
import types
from typing import Any, Callable, Dict, Optional, Set

from .tensorrt_api import VERSIONS, decode, load_snapshot

# The __version__ each fake reports: MAJOR.MINOR.PATCH.BUILD as NvInferVersion.h states it in the headers copied
# beside the binding sources (../shared/tensorrt/headers; test_tensorrt_api.py checks it where they are present).
# These are source snapshots, not installed releases: 10.0 is the v10.0.0 tag, an early-access build; 8.6 is the
# release/8.6 branch header; 10.16 and 11.1 are the heads of the release/10.16 and release/11.1 branches, whose
# build numbers need not match any wheel NVIDIA published.
RELEASES = {"8.5.3": "8.5.3.1", "8.6.1": "8.6.1.5", "10.0": "10.0.0.6", "10.16": "10.16.0.72", "11.1": "11.1.0.106"}
# the headers folder of each binding-source version
HEADER_FOLDERS = {"8.5.3": "8.5.3", "8.6.1": "8.6", "10.0": "10.0", "10.16": "10.16", "11.1": "11.1"}
assert set(RELEASES) == set(VERSIONS)

_SURFACES: Dict[str, Dict[str, Any]] = {}


def surface(version: str) -> Dict[str, Any]:
    """The decoded names of one version (cached)."""
    if version not in _SURFACES:
        _SURFACES[version] = decode(load_snapshot(), version)
    return _SURFACES[version]


def class_attrs(version: str, name: str) -> Set[str]:
    """Attributes of a bound class, inherited ones included."""
    info = surface(version)["classes"][name]
    names = set(info["attrs"])
    for base in info["bases"]:
        names |= class_attrs(version, base)
    return names


class Unmodelled:
    """A name the version has but the test fake does not model: usable with hasattr, fails when used."""

    def __init__(self, version: str, where: str) -> None:
        self.version, self.where = version, where

    def __get__(self, obj: Any, owner: Any) -> Any:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("fake tensorrt {}: {} exists there but the test fake does not model it".format(
            self.version, self.where))


def _missing(version: str, where: str) -> AttributeError:
    return AttributeError("TensorRT {} has no {}".format(version, where))


class PybindEnum(enum.IntEnum):
    """Prints like a pybind11 enum member ("DataType.FLOAT"), compares as an int."""

    def __str__(self) -> str:
        return "{}.{}".format(type(self).__name__, self.name)


def make_enum(version: str, name: str) -> Any:
    """The enum with the member names of ``version`` (numbered in declaration order: values are not names)."""
    return PybindEnum(name, surface(version)["enums"][name], start=0)


def make_class(version: str, name: str, behaviour: Optional[type] = None) -> type:
    """The bound class ``name`` of ``version``: its attribute names, with ``behaviour``'s where they exist."""
    names = class_attrs(version, name)
    enums = surface(version)["enums"]
    namespace: Dict[str, Any] = {"__module__": "tensorrt", "_fake_version": version}
    for attr in sorted(names):
        if attr in enums:
            nested = make_enum(version, attr)
            namespace[attr] = nested
            for member in nested:  # .export_values() puts the members in the class too (ILogger.WARNING)
                if member.name in names:
                    namespace[member.name] = member
        elif attr not in namespace:
            namespace[attr] = Unmodelled(version, "{}.{}".format(name, attr))
    for attr, value in (vars(behaviour) if behaviour else {}).items():
        if attr.startswith("_") or attr in names:
            if attr not in ("__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"):
                namespace[attr] = value

    def __setattr__(self: Any, attr: str, value: Any) -> None:
        # pybind11 objects take no new attributes; Python subclasses (a product's ILogger) do
        if type(self) is cls and not attr.startswith("_") and attr not in names:
            raise _missing(version, "{}.{}".format(name, attr))
        setter = getattr(behaviour, "__setattr__", None) if behaviour else None
        if setter is not None and setter is not object.__setattr__:
            setter(self, attr, value)
        else:
            object.__setattr__(self, attr, value)

    def __getattr__(self: Any, attr: str) -> Any:
        raise _missing(version, "{}.{}".format(name, attr))

    namespace["__setattr__"] = __setattr__
    namespace["__getattr__"] = __getattr__
    cls = type(name, (), namespace)
    return cls


class FakeModule(types.ModuleType):
    """``import tensorrt`` of one version: every module name it has, nothing else."""

    def __init__(self, version: str, release: str, classes: Dict[str, type],
                 functions: Dict[str, Callable[..., Any]]) -> None:
        super().__init__("tensorrt")
        names = set(surface(version)["module"])
        self.__dict__["_fake_version"] = version
        self.__dict__["_fake_names"] = names
        self.__dict__["__version__"] = release
        enums = surface(version)["enums"]
        bound = surface(version)["classes"]
        for name in names - {"__version__"}:
            if name in enums:
                self.__dict__[name] = make_enum(version, name)
            elif name in bound:
                self.__dict__[name] = make_class(version, name, classes.get(name))
            elif name in functions:
                self.__dict__[name] = functions[name]
            else:
                self.__dict__[name] = Unmodelled(version, "tensorrt." + name)

    def __getattr__(self, name: str) -> Any:
        raise _missing(self.__dict__["_fake_version"], "tensorrt." + name)
