"""Triton export: config.pbtxt parses as Triton's ModelConfig (a subset of model_config.proto, declared
here with the real field names, numbers and enum values) and matches the model's inputs and outputs."""
import os

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from edge_saliency.cli import main
from edge_saliency.engine.triton import export_triton
from edge_saliency.errors import UserError

F = descriptor_pb2.FieldDescriptorProto


def _model_config_class():
    file = descriptor_pb2.FileDescriptorProto(name="es_triton_subset.proto", package="inference", syntax="proto3")
    enum_values = {
        "DataType": ["TYPE_INVALID", "TYPE_BOOL", "TYPE_UINT8", "TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64",
                     "TYPE_INT8", "TYPE_INT16", "TYPE_INT32", "TYPE_INT64", "TYPE_FP16", "TYPE_FP32", "TYPE_FP64",
                     "TYPE_STRING", "TYPE_BF16"],
    }
    for name, values in enum_values.items():
        file.enum_type.add(name=name, value=[descriptor_pb2.EnumValueDescriptorProto(name=v, number=i)
                                             for i, v in enumerate(values)])

    def message(name, fields, enums=None):
        msg = file.message_type.add(name=name)
        for enum_name, values in (enums or {}).items():
            msg.enum_type.add(name=enum_name, value=[descriptor_pb2.EnumValueDescriptorProto(name=v, number=i)
                                                     for i, v in enumerate(values)])
        for fname, number, ftype, label, type_name in fields:
            msg.field.add(name=fname, number=number, type=ftype, label=label, type_name=type_name)

    one, many = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("ModelInput", [("name", 1, F.TYPE_STRING, one, None),
                           ("data_type", 2, F.TYPE_ENUM, one, ".inference.DataType"),
                           ("format", 3, F.TYPE_ENUM, one, ".inference.ModelInput.Format"),
                           ("dims", 4, F.TYPE_INT64, many, None)],
            {"Format": ["FORMAT_NONE", "FORMAT_NHWC", "FORMAT_NCHW"]})
    message("ModelOutput", [("name", 1, F.TYPE_STRING, one, None),
                            ("data_type", 2, F.TYPE_ENUM, one, ".inference.DataType"),
                            ("dims", 3, F.TYPE_INT64, many, None)])
    message("ModelInstanceGroup", [("name", 1, F.TYPE_STRING, one, None), ("count", 2, F.TYPE_INT32, one, None),
                                   ("kind", 4, F.TYPE_ENUM, one, ".inference.ModelInstanceGroup.Kind")],
            {"Kind": ["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"]})
    message("ModelDynamicBatching", [("preferred_batch_size", 1, F.TYPE_INT32, many, None),
                                     ("max_queue_delay_microseconds", 2, F.TYPE_UINT64, one, None)])
    message("ModelConfig", [
        ("name", 1, F.TYPE_STRING, one, None), ("platform", 2, F.TYPE_STRING, one, None),
        ("max_batch_size", 4, F.TYPE_INT32, one, None),
        ("input", 5, F.TYPE_MESSAGE, many, ".inference.ModelInput"),
        ("output", 6, F.TYPE_MESSAGE, many, ".inference.ModelOutput"),
        ("instance_group", 7, F.TYPE_MESSAGE, many, ".inference.ModelInstanceGroup"),
        ("dynamic_batching", 11, F.TYPE_MESSAGE, one, ".inference.ModelDynamicBatching"),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("inference.ModelConfig"))


ModelConfig = _model_config_class()


def _parse(model_dir):
    with open(os.path.join(model_dir, "config.pbtxt")) as f:
        return text_format.Parse(f.read(), ModelConfig())


def test_dynamic_batch_onnx_gets_dynamic_batching(tiny_onnx, tmp_path):
    onnx_path = tiny_onnx(dynamic=True)
    model_dir, notes = export_triton(onnx_path, str(tmp_path / "repo"), name="lite", max_batch_size=4)
    config = _parse(model_dir)
    assert (config.name, config.platform, config.max_batch_size) == ("lite", "onnxruntime_onnx", 4)
    assert [(i.name, list(i.dims)) for i in config.input] == [("image", [3, -1, -1])]
    assert [(o.name, list(o.dims)) for o in config.output] == [("saliency", [1, -1, -1])]
    assert config.input[0].data_type == 11  # TYPE_FP32
    assert config.dynamic_batching.max_queue_delay_microseconds == 100
    assert os.path.isfile(os.path.join(model_dir, "1", "model.onnx")) and notes == []


def test_static_batch_keeps_the_full_shape(tiny_onnx, tmp_path):
    model_dir, _ = export_triton(tiny_onnx(), str(tmp_path / "repo"), max_batch_size=8)
    config = _parse(model_dir)
    assert config.max_batch_size == 0 and list(config.input[0].dims) == [1, 3, 32, 48]
    assert not config.HasField("dynamic_batching")


def test_existing_model_needs_force_and_plugin_onnx_is_refused(tiny_onnx, tmp_path, capsys):
    repo = str(tmp_path / "repo")
    onnx_path = tiny_onnx()
    export_triton(onnx_path, repo, name="m")
    with pytest.raises(UserError, match="--force"):
        export_triton(onnx_path, repo, name="m")
    export_triton(onnx_path, repo, name="m", force=True)
    assert sorted(os.listdir(repo)) == ["m"]  # no staging folder left
    assert main(["export-triton", tiny_onnx("p.onnx", plugin=True), repo]) == 1
    assert "--upsample native" in capsys.readouterr().err


def _ort_artifact(onnx_path, out_dir, capsys):
    assert main(["build-engine", onnx_path, "--precision", "fp32", "--backend", "onnxruntime", "--output-dir",
                 str(out_dir)]) == 0
    return capsys.readouterr().out.strip().rsplit(" ", 1)[-1]


def test_an_ort_artifact_is_replaced_by_its_source_onnx(tiny_onnx, tmp_path, capsys):
    source = tiny_onnx("lite.onnx", dynamic=True)
    artifact = _ort_artifact(source, tmp_path / "engines", capsys)
    model_dir, notes = export_triton(artifact, str(tmp_path / "repo"))
    with open(source, "rb") as a, open(os.path.join(model_dir, "1", "model.onnx"), "rb") as b:
        assert a.read() == b.read()  # the portable file, byte for byte
    assert os.path.basename(model_dir) == "lite" and not os.path.exists(os.path.join(model_dir, "edge_saliency.json"))
    assert len(notes) == 1 and "exported its source ONNX {} instead".format(source) in notes[0]
    assert _parse(model_dir).platform == "onnxruntime_onnx"


def test_an_ort_artifact_without_its_source_is_refused(tiny_onnx, tmp_path, capsys):
    source = tiny_onnx("gone.onnx")
    artifact = _ort_artifact(source, tmp_path / "engines", capsys)
    with open(source, "ab") as f:
        f.write(b"\0")  # changed since the build
    with pytest.raises(UserError, match=r"optimised offline for ONNX Runtime .* changed since the artifact was built"):
        export_triton(artifact, str(tmp_path / "repo"))
    os.remove(source)
    assert main(["export-triton", artifact, str(tmp_path / "repo")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the sidecar names {}, which is gone".format(source) in err[0]
    assert not os.path.exists(tmp_path / "repo" / "gone")


def test_hardware_specific_nodes_are_refused_without_a_sidecar(tmp_path):
    # what ONNX Runtime's offline optimisation writes on an x86 CPU: NCHWc nodes, here built by hand
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("ReorderInput", ["image"], ["r"], domain="com.microsoft.nchwc"),
             helper.make_node("ReorderOutput", ["r"], ["saliency"], domain="com.microsoft.nchwc", channels=3)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 48])],
                              [helper.make_tensor_value_info("saliency", TensorProto.FLOAT, [1, 3, 32, 48])])
    path = str(tmp_path / "copied.onnx")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                      helper.make_opsetid("com.microsoft.nchwc", 1)]), path)
    with pytest.raises(UserError, match=r"its nodes 1 com.microsoft.nchwc ReorderInput, 1 com.microsoft.nchwc "
                                        r"ReorderOutput\), which runs only .*\(no sidecar beside the artifact "
                                        r"names it\)"):
        export_triton(path, str(tmp_path / "repo"))
    assert not os.path.exists(tmp_path / "repo")
