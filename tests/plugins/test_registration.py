"""Registering plugin libraries with TensorRT (edge_saliency/plugins/registration.py): the one path per version,
once per process, and only through Python names that the real bindings of that version have.

The per-version fakes here are built from NVIDIA's binding sources (python-bindings/<version>/.../pyPlugin.cpp):
each exposes exactly the IPluginRegistry / creator attributes that version binds, so a name a version lacks raises
AttributeError as it would on a Jetson or desktop with that TensorRT."""
import os
import re
import types

import pytest

from edge_saliency.engine.triton import plugin_notes
from edge_saliency.errors import UserError
from edge_saliency.plugins import library, registration
from edge_saliency.plugins.registration import (
    ALREADY,
    AUTOREGISTER,
    DLOPEN,
    LOAD_LIBRARY,
    find_creator,
    libraries_to_load,
    register_library,
)
from edge_saliency.plugins.upsample_op import OP_TYPE, PLUGIN_NAMESPACE, PLUGIN_VERSION
from tests.trt_reference import BINDING_VERSIONS, bindings_dir

_DEF = re.compile(r'\.def(?:_property(?:_readonly)?|_static)?\(\s*"(\w+)"')
_NEXT = re.compile(r"py::class_<|py::enum_<|\bm\.def\(")


def binding_names(version, cls):
    """Methods and properties a version binds on ``cls`` (IPluginRegistry, IPluginCreator, ...), or None."""
    source = open(os.path.join(bindings_dir(version), "python", "src", "infer", "pyPlugin.cpp")).read()
    start = re.search(r"py::class_<{}\s*[,>]".format(cls), source)
    if start is None:
        return None
    following = _NEXT.search(source, start.end())
    block = source[start.end():following.start() if following else len(source)]
    return set(_DEF.findall(block))


def module_functions(version):
    source = open(os.path.join(bindings_dir(version), "python", "src", "infer", "pyPlugin.cpp")).read()
    return set(re.findall(r'\bm\.def\(\s*"(\w+)"', source))


def _strict(names, **values):
    """An object with only ``names`` as attributes (values given, else recording callables)."""
    attrs = {}
    for name in names:
        attrs[name] = values[name] if name in values else (lambda *a, _n=name, **k: ("called", _n, a))
    missing = set(values) - set(names)
    attrs["_unbound"] = missing  # values the caller offered that this version does not bind
    return types.SimpleNamespace(**attrs)


class FakeTensorRT:
    """``tensorrt`` as far as registration goes, for one binding version: get_plugin_registry, a registry with that
    version's attributes, creators with that version's attributes."""

    def __init__(self, version, creator_class=None):
        self.version = version
        self.registry_names = binding_names(version, "IPluginRegistry")
        creator_class = creator_class or ("IPluginCreatorV3One" if version[:2] in ("10", "11") else "IPluginCreator")
        self.creator_names = binding_names(version, creator_class)
        self.creators = []
        self.loaded = []
        registry = self

        class Registry:
            pass

        for name in self.registry_names:
            if name in ("all_creators", "plugin_creator_list"):
                setattr(Registry, name, property(lambda _self: list(registry.creators)))
            elif name == "load_library":
                setattr(Registry, name, lambda _self, path: registry._load(path))
            else:
                setattr(Registry, name, lambda _self, *a, _n=name, **k: pytest.fail("unexpected call " + _n))
        self.registry = Registry()
        self.module = types.SimpleNamespace(__version__=version)
        if "get_plugin_registry" in module_functions(version):
            self.module.get_plugin_registry = lambda: self.registry

    def creator(self, name=OP_TYPE, version=PLUGIN_VERSION, namespace=PLUGIN_NAMESPACE):
        values = {"name": name, "plugin_version": version, "plugin_namespace": namespace}
        made = _strict(self.creator_names, **values)
        assert not made._unbound, "creators of {} have no {}".format(self.version, made._unbound)
        return made

    def _load(self, path):
        self.loaded.append(path)
        if any(c.name == OP_TYPE for c in self.creators):
            return None  # TensorRT: "will fail and return nullptr if any of the plugins are already registered"
        self.creators.append(self.creator())
        return "handle:" + path


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test is a new process as far as registrations go."""
    monkeypatch.setattr(registration, "_registrations", {})
    monkeypatch.setattr(registration, "_keep", [])


@pytest.fixture
def built(tmp_path):
    """A plugin library and its autoregister library on disk (contents do not matter: loading is faked)."""
    plugin = tmp_path / library.LIBRARIES["tensorrt"]
    plugin.write_bytes(b"\x7fELF")
    (tmp_path / library.LIBRARIES["autoregister"]).write_bytes(b"\x7fELF")
    return str(plugin)


def _fake_dlopen(monkeypatch, trt):
    """dlopen of the autoregister library: its static initializer registers our creator (as the C++ test checks)."""
    opened = []

    def dlopen(path):
        opened.append(path)
        if os.path.basename(path) == library.LIBRARIES["autoregister"]:
            trt.creators.append(trt.creator())

    monkeypatch.setattr(registration, "_dlopen", dlopen)
    return opened


@pytest.mark.parametrize("version", BINDING_VERSIONS)
def test_each_version_registers_through_names_its_bindings_have(version, built, monkeypatch):
    trt = FakeTensorRT(version)
    opened = _fake_dlopen(monkeypatch, trt)
    result = register_library(built, trt.module)
    if version == "8.5.3":  # no load_library: the autoregister library beside the plugin
        assert result.how == AUTOREGISTER and trt.loaded == []
        assert opened == [os.path.join(os.path.dirname(built), library.LIBRARIES["autoregister"])]
    else:
        assert result.how == LOAD_LIBRARY and trt.loaded == [built] and opened == []
        assert result.handle == "handle:" + built
    assert len(trt.creators) == 1 and find_creator(trt.registry) is trt.creators[0]
    # once per process: no second registration, whatever asks
    assert register_library(built, trt.module) is result and len(trt.loaded) <= 1


def test_binding_facts_the_design_rests_on():
    """The version facts docs/plugin.md and registration.py state, read from the binding sources."""
    registry = {v: binding_names(v, "IPluginRegistry") for v in BINDING_VERSIONS}
    assert [("load_library" in registry[v]) for v in BINDING_VERSIONS] == [False, True, True, True, True]
    assert [("deregister_library" in registry[v]) for v in BINDING_VERSIONS] == [False, True, True, True, True]
    assert [("all_creators" in registry[v]) for v in BINDING_VERSIONS] == [False, False, True, True, True]
    assert [("plugin_creator_list" in registry[v]) for v in BINDING_VERSIONS] == [True, True, True, True, False]
    # docs/tensorrt.md: get_creator exists only on 10.x and later; 8.x has get_plugin_creator (gone in 11.x)
    assert [("get_creator" in registry[v]) for v in BINDING_VERSIONS] == [False, False, True, True, True]
    assert [("get_plugin_creator" in registry[v]) for v in BINDING_VERSIONS] == [True, True, True, True, False]
    assert all("get_plugin_registry" in module_functions(v) for v in BINDING_VERSIONS)
    assert binding_names("8.5.3", "IPluginCreatorV3One") is None  # no IPluginV3 before 10
    for version in BINDING_VERSIONS:
        for cls in ("IPluginCreator", "IPluginCreatorV3One"):
            names = binding_names(version, cls)
            if names is not None:
                assert {"name", "plugin_version", "plugin_namespace", "field_names"} <= names, (version, cls)


def test_a_name_the_version_lacks_fails(built, monkeypatch):
    """The per-version fakes catch a call that a version does not bind (here 8.6.1 asked for get_creator)."""
    trt = FakeTensorRT("8.6.1")
    with pytest.raises(AttributeError, match="get_creator"):
        trt.registry.get_creator(OP_TYPE, PLUGIN_VERSION, PLUGIN_NAMESPACE)
    monkeypatch.setattr(registration, "find_creator", lambda registry: registry.get_creator(OP_TYPE, "1", ""))
    with pytest.raises(AttributeError, match="get_creator"):
        register_library(built, trt.module)


def test_a_creator_already_registered_is_not_registered_again(built, monkeypatch):
    trt = FakeTensorRT("10.16")
    trt.creators.append(trt.creator())  # e.g. Triton / LD_PRELOAD loaded the autoregister library
    opened = _fake_dlopen(monkeypatch, trt)
    result = register_library(built, trt.module)
    assert result.how == ALREADY and result.loaded is None
    assert trt.loaded == [] and opened == [] and len(trt.creators) == 1


def test_other_creators_with_our_name_but_another_version_do_not_count(built, monkeypatch):
    trt = FakeTensorRT("10.16")
    trt.creators.append(trt.creator(version="2"))
    trt.creators.append(trt.creator(name="SomethingElse_TRT"))
    assert find_creator(trt.registry) is None


def test_a_refused_plugin_library_is_an_error_naming_the_rebuild(built, monkeypatch):
    trt = FakeTensorRT("10.16")
    monkeypatch.setattr(trt, "_load", lambda path: None)  # e.g. an old build that registered itself when loaded
    with pytest.raises(UserError, match="load_library returned None.*edge-saliency build-plugin"):
        register_library(built, trt.module)


def test_a_plugin_library_that_registers_nothing_is_an_error(built, monkeypatch):
    trt = FakeTensorRT("11.1")
    monkeypatch.setattr(trt, "_load", lambda path: "handle")  # loaded, but no BilinearUpsample_TRT v1 creator
    with pytest.raises(UserError, match="registered no BilinearUpsample_TRT v1 creator"):
        register_library(built, trt.module)


def test_tensorrt_85_needs_the_autoregister_library_beside_the_plugin(built, monkeypatch):
    os.remove(os.path.join(os.path.dirname(built), library.LIBRARIES["autoregister"]))
    trt = FakeTensorRT("8.5.3")
    _fake_dlopen(monkeypatch, trt)
    with pytest.raises(UserError, match="no IPluginRegistry.load_library.*libedge_saliency_trt_autoregister.so"):
        register_library(built, trt.module)


def test_another_projects_library_falls_back_to_dlopen_when_refused(tmp_path, monkeypatch, caplog):
    other = tmp_path / "libsomeone_elses_plugins.so"
    other.write_bytes(b"\x7fELF")
    trt = FakeTensorRT("10.0")
    monkeypatch.setattr(trt, "_load", lambda path: None)  # no entry points: an old self-registering library
    opened = _fake_dlopen(monkeypatch, trt)
    result = register_library(str(other), trt.module)
    assert result.how == DLOPEN and opened == [str(other)]
    assert "refused" in caplog.text
    # on 8.5 such a library is simply dlopen'ed
    monkeypatch.setattr(registration, "_registrations", {})
    trt85 = FakeTensorRT("8.5.3")
    opened85 = _fake_dlopen(monkeypatch, trt85)
    assert register_library(str(other), trt85.module).how == DLOPEN and opened85 == [str(other)]


def test_a_library_the_loader_cannot_open_is_a_user_error(tmp_path):
    broken = tmp_path / library.LIBRARIES["autoregister"]
    broken.write_bytes(b"not an ELF file")
    with pytest.raises(UserError, match="cannot load .*rebuild with: edge-saliency build-plugin"):
        registration._dlopen(str(broken))


def test_a_missing_library_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found.*edge-saliency build-plugin"):
        register_library(str(tmp_path / library.LIBRARIES["tensorrt"]), FakeTensorRT("10.16").module)


def test_plugins_serialized_into_an_engine_are_not_loaded(tmp_path):
    ours, other = str(tmp_path / "a" / "libedge_saliency_trt_plugin.so"), str(tmp_path / "libother.so")
    info = {"plugins": [{"path": ours, "sha256": "x"}, {"path": other, "sha256": "y"}],
            "plan": {"plugins_to_serialize": [ours]}}
    assert libraries_to_load(info) == [other]
    assert libraries_to_load({"plugins": [{"path": ours}], "plan": {"plugins_to_serialize": []}}) == [ours]
    assert libraries_to_load({}) == []


def test_triton_notes_name_the_autoregister_library_or_the_embedded_plugin(tmp_path):
    ours = str(tmp_path / "libedge_saliency_trt_plugin.so")
    notes = plugin_notes({"plugins": [{"path": ours}], "plan": {"plugins_to_serialize": []}})
    assert len(notes) == 1
    assert 'plugins="{}"'.format(str(tmp_path / "libedge_saliency_trt_autoregister.so")) in notes[0]
    embedded = plugin_notes({"plugins": [{"path": ours}], "plan": {"plugins_to_serialize": [ours]}})
    assert len(embedded) == 1 and "version-compatible=true" in embedded[0]
    assert plugin_notes({"plugins": []}) == []
