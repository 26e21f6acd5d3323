"""Saliency datasets: layouts (SALICON, MIT1003, CAT2000, a generic folder), file readers and the image /
map / fixation transforms. numpy only at import; OpenCV and scipy load when a file is read. The PyTorch
dataset used for training is :class:`edge_saliency.training.dataset.SaliencyDataset`."""
from .datasets import LAYOUTS, Sample, SampleFiles, detect_layout, find_samples, load_sample, read_annotations

__all__ = ["LAYOUTS", "Sample", "SampleFiles", "detect_layout", "find_samples", "load_sample", "read_annotations"]
