"""INT8 Q/DQ: symmetric, per-channel, nothing around plugin nodes, CC >= 0.98 with real encoder weights,
calibration from folders and videos, and a cache that skips recalibration."""
import logging
import os

import cv2
import numpy as np
import pytest

from edge_saliency.engine import trt_rules
from edge_saliency.errors import UserError
from edge_saliency.export import evaluate, frames, graph, int8
from edge_saliency.maths.preprocess import preprocess
from edge_saliency.plugins import upsample_op as contract
from edge_saliency.plugins.ort_op import create_session

SIZE = (96, 128)


def _calibration_inputs(size=SIZE):
    return [preprocess(f, size, "opencv-area") for _, f in frames.load_frames(frames.BUILTIN_CALIBRATION)]


@pytest.fixture(scope="module")
def plugin_fp32(lite_trained):
    return graph.simplify(graph.export_onnx(lite_trained, SIZE, upsample="plugin"), plugin=True)


@pytest.fixture(scope="module")
def quantized(plugin_fp32, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("calib") / "ranges.json")
    reused = int8.calibrate(plugin_fp32, _calibration_inputs(), "minmax", 99.99, cache)
    model, facts = int8.quantize(plugin_fp32, cache, "minmax", SIZE)
    return model, facts, cache, reused


def test_qdq_is_symmetric_per_channel_and_keeps_away_from_plugin_nodes(quantized):
    model, facts, _, reused = quantized
    assert not reused
    summary = int8.qdq_summary(model)
    assert summary["quantize_nodes"] > 40 and summary["max_abs_zero_point"] == 0
    assert summary["qdq_beside_plugin"] == []
    # what TensorRT takes: every DequantizeLinear input INT8 (no INT32 biases), weights per output channel on
    # axis 0, activations per tensor
    assert summary["non_int8_dequantize_inputs"] == [] and summary["weight_axes"] == [0]
    assert summary["per_channel_activation_dequantize_nodes"] == []
    assert trt_rules.check_model(model).passes()
    assert sum(n.op_type == contract.OP_TYPE for n in model.graph.node) == 5
    inits = {t.name: t for t in model.graph.initializer}
    producers = {o: n for n in model.graph.node for o in n.output}
    import onnx
    from onnx import numpy_helper

    quantized_convs = 0
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        weight = producers.get(node.input[1])
        if node.name in facts["float_nodes"]:
            assert weight is None, node.name  # the stride-2 layers stay float
            continue
        assert weight is not None and weight.op_type == "DequantizeLinear", node.name
        if len(node.input) > 2:  # the bias stays a float initializer
            assert inits[node.input[2]].data_type == onnx.TensorProto.FLOAT, node.name
        scale = numpy_helper.to_array(inits[weight.input[1]])
        out_channels = numpy_helper.to_array(inits[weight.input[0]]).shape[0]
        assert scale.shape == (out_channels,)  # per output channel
        quantized_convs += 1
        activation = producers.get(node.input[0])
        assert activation is not None and activation.op_type == "DequantizeLinear"
    assert quantized_convs >= 45
    # Q/DQ only on the inputs of Conv and Add (TensorRT's placement): no DQ feeds an activation, a resize,
    # a concat or a sigmoid, so no Conv output is quantized before its ReLU6
    dq_consumers = {n.op_type for n in model.graph.node for i in n.input
                    if i in producers and producers[i].op_type == "DequantizeLinear"}
    assert dq_consumers == {"Conv", "Add"}


def test_int8_matches_fp32_on_held_out_photos_with_real_encoder_weights(lite_trained, quantized):
    model = quantized[0]
    inputs = evaluate.eval_inputs(SIZE, "opencv-area")
    assert not {i.name for i in inputs} & set(frames.CALIBRATION_PHOTOS)
    refs = evaluate.torch_outputs(lite_trained, inputs)
    outputs = evaluate.session_outputs(create_session(model.SerializeToString(), optimize=False), inputs)
    result = evaluate.parity("int8", inputs, refs, outputs)
    assert result["passed"], result["failures"]
    ccs = [r["cc"] for r in result["results"] if r["real"]]
    assert len(ccs) == 5 and min(ccs) >= 0.98


def test_cache_is_reused_without_recalibrating(plugin_fp32, quantized, monkeypatch):
    _, _, cache, _ = quantized
    import onnxruntime.quantization.calibrate as ort_calibrate

    def fail(*args, **kwargs):
        raise AssertionError("recalibrated")

    monkeypatch.setattr(ort_calibrate, "create_calibrator", fail)
    before = os.path.getmtime(cache)
    assert int8.calibrate(plugin_fp32, [], "minmax", 99.99, cache) is True
    assert os.path.getmtime(cache) == before
    # a cache written by another method is not reused
    with pytest.raises(AssertionError, match="recalibrated"):
        int8.calibrate(plugin_fp32, _calibration_inputs()[:2], "entropy", 99.99, cache)


def test_cache_key_covers_model_method_and_frames():
    base = int8.calibration_key("a" * 64, "minmax", 99.99, "f" * 64)
    assert base == int8.calibration_key("a" * 64, "minmax", 99.0, "f" * 64)  # percentile unused by minmax
    others = [
        int8.calibration_key("b" * 64, "minmax", 99.99, "f" * 64),
        int8.calibration_key("a" * 64, "entropy", 99.99, "f" * 64),
        int8.calibration_key("a" * 64, "percentile", 99.99, "f" * 64),
        int8.calibration_key("a" * 64, "percentile", 99.9, "f" * 64),
        int8.calibration_key("a" * 64, "minmax", 99.99, "e" * 64),
    ]
    assert len({base["id"]} | {k["id"] for k in others}) == 6
    x = [np.zeros((1, 3, 32, 32), np.float32)]
    assert frames.frames_digest(x) != frames.frames_digest([x[0] + 1e-3])


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_other_methods_give_valid_symmetric_models(plugin_fp32, method, tmp_path, monkeypatch):
    monkeypatch.setattr(int8, "ENTROPY_BINS", 128)  # the wiring, not the (quadratic) threshold search
    cache = str(tmp_path / "c.json")
    int8.calibrate(plugin_fp32, _calibration_inputs()[:6], method, 99.9, cache)
    model, _ = int8.quantize(plugin_fp32, cache, method, SIZE)
    assert int8.qdq_summary(model)["max_abs_zero_point"] == 0
    x = preprocess(frames.photos(["chelsea"])[0][1], SIZE, "opencv-area")
    out = create_session(model, optimize=False).run(None, {"image": x})[0]
    assert out.shape == (1, 1, *SIZE) and np.isfinite(out).all()


def test_frames_from_folder_video_and_split(tmp_path, caplog):
    photos = frames.photos(["astronaut", "coffee", "rocket"])
    folder = tmp_path / "images" / "val"
    folder.mkdir(parents=True)
    for name, image in photos:
        cv2.imwrite(str(folder / (name + ".png")), image[:, :, ::-1])
    (folder / "notes.txt").write_text("not an image")
    got = frames.load_frames(str(folder))
    assert [n for n, _ in got] == ["astronaut.png", "coffee.png", "rocket.png"]
    np.testing.assert_array_equal(got[0][1], photos[0][1])
    assert len(frames.load_frames(str(tmp_path), split="val")) == 3
    assert len(frames.load_frames(str(folder), max_frames=2)) == 2

    video = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 10, (128, 96))
    for i in range(20):
        writer.write(cv2.resize(photos[i % 3][1][:, :, ::-1], (128, 96)))
    writer.release()
    clip = frames.load_frames(video, max_frames=5)
    assert len(clip) == 5 and clip[0][1].shape == (96, 128, 3)
    assert [n for n, _ in clip] == ["clip.avi#{}".format(i) for i in (0, 4, 8, 12, 16)]
    assert abs(float(clip[0][1].mean()) - float(cv2.resize(photos[0][1], (128, 96)).mean())) < 3  # RGB, decoded

    with caplog.at_level(logging.WARNING, logger="edge_saliency"):
        frames.warn_if_few(len(clip))
    assert "only 5 calibration frames" in caplog.text


def test_bad_calibration_sources(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no images in"):
        frames.load_frames(str(empty))
    with pytest.raises(UserError, match="not found"):
        frames.load_frames(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="no split 'train'"):
        frames.load_frames(str(tmp_path), split="train")
    bad_video = tmp_path / "bad.avi"
    bad_video.write_bytes(b"\0" * 100)
    with pytest.raises(UserError, match="video|decodable"):
        frames.load_frames(str(bad_video))


@pytest.mark.slow
def test_headline_int8_export_has_only_int8_dequantize_inputs(tmp_path):
    """DenseNet-161 + NASNet-Large (random weights) at 96x128 with TensorRT's own Resize (the lite test above
    covers the plugin nodes): the Q/DQ file TensorRT takes."""
    import torch

    from edge_saliency import create_model

    torch.manual_seed(0)
    net = create_model("emlnet-densenet161-nasnetlarge").eval()
    size = (96, 128)
    fp32 = graph.simplify(graph.export_onnx(net, size))
    cache = str(tmp_path / "ranges.json")
    int8.calibrate(fp32, _calibration_inputs(size)[:4], "minmax", 99.99, cache)
    model, _ = int8.quantize(fp32, cache, "minmax", size)
    summary = int8.qdq_summary(model)
    assert summary["dequantize_nodes"] > 1000 and summary["non_int8_dequantize_inputs"] == []
    assert summary["max_abs_zero_point"] == 0 and summary["weight_axes"] == [0]
    assert summary["per_channel_activation_dequantize_nodes"] == []
    report = trt_rules.check_model(model)
    assert report.passes() and not report.of("warning"), [f.line() for f in report.findings[:5]]
