"""Our TensorRT plugin and its ONNX node: the contract (``upsample_op``) shared by the exporter, the ONNX
Runtime reference op and the CUDA plugin."""
