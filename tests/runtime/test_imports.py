"""The runtime imports nothing heavy until it is used: a board with only ONNX Runtime (or only TensorRT) can
run it, and start-up stays fast."""
import json
import subprocess
import sys

MODULES = ["edge_saliency.runtime", "edge_saliency.runtime.pipeline", "edge_saliency.runtime.feeds",
           "edge_saliency.runtime.stages", "edge_saliency.runtime.summary", "edge_saliency.runtime.options",
           "edge_saliency.runtime.packet", "edge_saliency.runtime.sources",
           "edge_saliency.runtime.sinks", "edge_saliency.runtime.frames", "edge_saliency.runtime.cuda",
           "edge_saliency.runtime.sample_clip", "edge_saliency.runtime.runners",
           "edge_saliency.runtime.runners.ort_runner", "edge_saliency.runtime.runners.trt_runner",
           "edge_saliency.runtime.runners.torch_runner", "edge_saliency.runtime.runners.classic_runner",
           "edge_saliency.cli.run", "edge_saliency.cli.sample_clip"]


def test_runtime_modules_import_light():
    code = ("import sys, json, importlib\n"
            "for m in {!r}: importlib.import_module(m)\n"
            "heavy = ('torch', 'timm', 'onnx', 'onnxruntime', 'cv2', 'tensorrt', 'cuda', 'pycuda', 'skimage', "
            "'scipy', 'tqdm')\n"
            "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))").format(MODULES)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
