import dataclasses

import pytest

from edge_saliency.engine import build as build_module
from edge_saliency.engine.cache import ArtifactMismatchError, Target, cache_key, check_artifact, rebuild_command
from edge_saliency.engine.options import BuildOptions, ShapeRange
from edge_saliency.errors import UserError
from edge_saliency.files.sidecar import Sidecar, read_sidecar

TARGET = Target("tensorrt", "10.3.0", "Orin", "8.7")


def key(**changes):
    options = BuildOptions(precision="fp16")
    target, onnx, plugins = TARGET, "a" * 64, ["p" * 64]
    for name, value in changes.items():
        if name == "target":
            target = value
        elif name == "onnx":
            onnx = value
        elif name == "plugins":
            plugins = value
        else:
            options = dataclasses.replace(options, **{name: value})
    return cache_key(onnx, options, target, plugins)


@pytest.mark.parametrize("change", [
    {"onnx": "b" * 64},
    {"precision": "int8"},
    {"target": Target("tensorrt", "10.13.0", "Orin", "8.7")},
    {"target": Target("tensorrt", "10.3.0", "NVIDIA H100", "9.0")},
    {"shapes": {"image": ShapeRange(*[(1, 3, 480, 640)] * 3)}},
    {"plugins": ["q" * 64]},
    {"workspace_mib": 256},
    {"optimization_level": 5},
    {"dla_core": 0},
    {"tf32": False},
    {"typing": "strong"},
    {"version_compatible": True},
])
def test_key_changes_with_every_input_that_changes_the_engine(change):
    assert key(**change) != key()


def test_key_ignores_what_does_not_change_the_engine():
    assert key(timing_cache="/tmp/cache.bin") == key()
    # plugin libraries count by content, not by where they are
    a = cache_key("a" * 64, BuildOptions(plugins=["/x/lib.so"]), TARGET, ["p" * 64])
    b = cache_key("a" * 64, BuildOptions(plugins=["/y/lib.so"]), TARGET, ["p" * 64])
    assert a == b


def _engine_sidecar(tmp_path, target=TARGET, host_code=False, content=b"engine"):
    path = str(tmp_path / "m.engine")
    with open(path, "wb") as f:
        f.write(content)
    from edge_saliency.engine.cache import file_sha256

    info = {"target": dataclasses.asdict(target), "artifact_sha256": file_sha256(path), "host_code": host_code,
            "rebuild_command": "edge-saliency build-engine m.onnx --precision fp16 --backend tensorrt"}
    sidecar = Sidecar(kind="engine", model=None, info=info)
    sidecar.save(path)
    return path, read_sidecar(path)


def test_sidecar_round_trip_and_a_compatible_engine_passes(tmp_path):
    path, sidecar = _engine_sidecar(tmp_path)
    assert sidecar.info["target"]["device"] == "Orin"
    check_artifact(path, sidecar, target=TARGET)


@pytest.mark.parametrize("other", [
    Target("tensorrt", "10.13.0", "Orin", "8.7"),
    Target("tensorrt", "10.3.0", "NVIDIA GeForce RTX 4090", "8.9"),
])
def test_engines_from_another_tensorrt_or_gpu_are_refused_with_the_rebuild_command(tmp_path, other):
    path, sidecar = _engine_sidecar(tmp_path)
    with pytest.raises(ArtifactMismatchError) as err:
        check_artifact(path, sidecar, target=other)
    message = str(err.value)
    assert "built for TensorRT 10.3.0 on Orin" in message and other.describe() in message
    assert "rebuild it here: edge-saliency build-engine m.onnx --precision fp16" in message


def test_version_compatible_engines_cross_minor_versions_but_need_the_host_code_opt_in(tmp_path):
    path, sidecar = _engine_sidecar(tmp_path, host_code=True)
    newer = Target("tensorrt", "10.13.0", "Orin", "8.7")
    with pytest.raises(UserError, match="--allow-host-code"):
        check_artifact(path, sidecar, target=newer)
    check_artifact(path, sidecar, allow_host_code=True, target=newer)
    with pytest.raises(ArtifactMismatchError):
        check_artifact(path, sidecar, allow_host_code=True, target=Target("tensorrt", "11.0.0", "Orin", "8.7"))
    # forward only: a version-compatible engine does not run on an earlier release of its major version
    with pytest.raises(ArtifactMismatchError, match="was built for TensorRT 10.3"):
        check_artifact(path, sidecar, allow_host_code=True, target=Target("tensorrt", "10.0.1", "Orin", "8.7"))


def test_a_changed_engine_file_is_refused(tmp_path):
    path, sidecar = _engine_sidecar(tmp_path)
    with open(path, "ab") as f:
        f.write(b"garbage")
    with pytest.raises(ArtifactMismatchError, match="sha256 mismatch"):
        check_artifact(path, sidecar, target=TARGET)


def test_rebuild_command_round_trips_the_options():
    options = BuildOptions(precision="int8", shapes={"image": ShapeRange((1, 3, 256, 320), (1, 3, 480, 640),
                                                                          (2, 3, 480, 640))},
                           workspace_mib=1024, dla_core=1, gpu_fallback=False, tf32=False)
    command = rebuild_command("out/m.onnx", options, "tensorrt")
    assert command == ("edge-saliency build-engine out/m.onnx --precision int8 --backend tensorrt "
                       "--min-shape image:1x3x256x320 --opt-shape image:1x3x480x640 --max-shape image:2x3x480x640 "
                       "--workspace 1024 --dla-core 1 --no-gpu-fallback --no-tf32")
    from edge_saliency.cli import build_parser

    args = build_parser().parse_args(command.split()[1:])
    assert (args.precision, args.workspace, args.dla_core, args.no_gpu_fallback) == ("int8", 1024, 1, True)


def test_an_interrupted_build_leaves_no_file(tmp_path, tiny_onnx, monkeypatch):
    onnx_path = tiny_onnx()

    def interrupted(*args, **kwargs):
        from edge_saliency.files.atomic import atomic_output

        with atomic_output(str(tmp_path / "engines" / "partial.ort.onnx")) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half an engine")
            raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "_build_onnxruntime", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_module.build_engine(onnx_path, BuildOptions(precision="fp32"), backend="onnxruntime",
                                  output_dir=str(tmp_path / "engines"))
    assert not (tmp_path / "engines").exists()  # no file, and not the folder the failed build made either
