"""Content hashes of artifact files (ONNX files, engines, weights), as recorded in sidecars and cache keys."""
import hashlib


def file_sha256(path: str) -> str:
    """Hex sha256 of a file, read in 4 MiB blocks (engines and ONNX files run to hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()
