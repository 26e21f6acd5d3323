"""The runtime imports nothing heavy until it is used: a board with only ONNX Runtime (or only TensorRT) can
run it, and start-up stays fast."""
import json
import subprocess
import sys

MODULES = ["edge_saliency.capture", "edge_saliency.outputs", "edge_saliency.pipeline",
           "edge_saliency.pipeline.pipeline", "edge_saliency.pipeline.feeds",
           "edge_saliency.pipeline.stages", "edge_saliency.pipeline.summary", "edge_saliency.pipeline.options",
           "edge_saliency.pipeline.packet", "edge_saliency.capture.sources",
           "edge_saliency.outputs.sinks", "edge_saliency.pipeline.frames", "edge_saliency.runners.cuda",
           "edge_saliency.outputs.sample_clip", "edge_saliency.runners",
           "edge_saliency.runners.ort_runner", "edge_saliency.runners.trt_runner",
           "edge_saliency.runners.torch_runner", "edge_saliency.runners.classic_runner",
           "edge_saliency.cli.run", "edge_saliency.cli.sample_clip"]


def test_runtime_modules_import_light():
    code = ("import sys, json, importlib\n"
            "for m in {!r}: importlib.import_module(m)\n"
            "heavy = ('torch', 'timm', 'onnx', 'onnxruntime', 'cv2', 'tensorrt', 'cuda', 'pycuda', 'skimage', "
            "'scipy', 'tqdm')\n"
            "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))").format(MODULES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
