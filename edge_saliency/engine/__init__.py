"""Engines: the version-adaptive TensorRT builder, the ONNX Runtime fallback artifact, the engine cache and
its sidecars, Triton model repositories and inspect. Importing this package is light (no TensorRT,
no ONNX Runtime); each module imports what it needs when called."""
