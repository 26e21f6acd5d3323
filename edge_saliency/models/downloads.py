"""Backbone weights that timm downloads: where a weights tag comes from, whether it is in a download cache
already, and a download attempt that fails fast, quietly and in one line when there is no network.

timm fetches ``<arch>.<tag>`` weights from the Hugging Face hub (``timm/<arch>.<tag>``, file
``model.safetensors``, else ``pytorch_model.bin``) when ``huggingface_hub`` is installed, else from the URL
in its pretrained config (``torch.hub`` cache). Without network the hub client retries every request five
times with back-off (about 25 s per file, two files) and logs each retry through its own handler *and* the
root logger (so twice under our CLI); then timm raises a bare traceback. Here instead:

1. a file already in the hub's or torch.hub's cache is handed to timm as a local file (no request at all,
   so a cached backbone works offline without ``HF_HUB_OFFLINE``);
2. otherwise, with ``HF_HUB_OFFLINE`` set or the download host (or the proxy in front of it) not answering a
   TCP connect within a few seconds, the caller gets the reason before any model is built;
3. an attempted download runs with the hub's and timm's loggers quieted, and any failure becomes one line.
"""
import contextlib
import logging
import os
import socket
import urllib.parse
import urllib.request
from typing import Any, Iterator, List, Optional, Tuple

from .._lazy import require

PROBE_TIMEOUT_S = 5.0
HUB_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm asks the hub for, in order
# the hub client warns on every retry; its HTTP library logs every request at INFO; timm notes each load
_QUIET = (("huggingface_hub", logging.ERROR), ("httpx", logging.WARNING), ("httpx2", logging.WARNING),
          ("timm", logging.WARNING))
log = logging.getLogger("edge_saliency")


def _truthy(value: Optional[str]) -> bool:
    return (value or "").strip().upper() in ("1", "ON", "YES", "TRUE")


def _hub() -> Any:
    """``huggingface_hub`` (with its ``constants`` submodule loaded), or None when it is not installed."""
    try:
        import huggingface_hub
        import huggingface_hub.constants  # noqa: F401  (the package loads its submodules lazily)
    except ImportError:
        return None
    return huggingface_hub


def hub_endpoint() -> str:
    hub = _hub()
    return hub.constants.ENDPOINT if hub is not None else "https://huggingface.co"


class TimmWeights:
    """Where timm gets the weights ``<arch>.<tag>``: a hub repository when ``huggingface_hub`` is installed
    and the tag has one (as timm decides), else the URL of its pretrained config."""

    def __init__(self, name: str) -> None:
        timm = require("timm", purpose="backbone weights")
        cfg = timm.models.get_pretrained_cfg(name)
        if cfg is None:
            raise ValueError("timm has no pretrained config {!r}".format(name))
        self.name = name
        self.hub_repo: Optional[str] = cfg.hf_hub_id if cfg.hf_hub_id and _hub() is not None else None
        self.url: Optional[str] = None if self.hub_repo else cfg.url

    @property
    def location(self) -> str:
        """Where a user can fetch the file by hand."""
        if self.hub_repo:
            return "{} of {}/{}".format(HUB_FILES[0], hub_endpoint().rstrip("/"), self.hub_repo)
        return self.url or "(timm has no download location for {})".format(self.name)

    def cached_file(self) -> Optional[str]:
        """The weights file in the hub's or torch.hub's download cache, if a download left one there."""
        if self.hub_repo:
            hub = _hub()
            for filename in HUB_FILES:
                found = hub.try_to_load_from_cache(self.hub_repo, filename)
                if isinstance(found, str) and os.path.isfile(found):
                    return found
            return None
        if self.url:
            torch = require("torch")
            path = os.path.join(torch.hub.get_dir(), "checkpoints",
                                os.path.basename(urllib.parse.urlparse(self.url).path))
            return path if os.path.isfile(path) else None
        return None

    def offline_reason(self) -> Optional[str]:
        """Why a download cannot work now (``None``: it may): ``HF_HUB_OFFLINE``, or the host unreachable."""
        if self.hub_repo:
            hub = _hub()
            if hub.constants.HF_HUB_OFFLINE or _truthy(os.environ.get("HF_HUB_OFFLINE")):
                return "HF_HUB_OFFLINE is set"
            return unreachable(hub_endpoint())
        if self.url:
            return unreachable(self.url)
        return "timm knows no download location for it"


def _connect_target(url: str) -> Tuple[str, int, str]:
    """(host, port, label) a download of ``url`` first connects to: its proxy when one applies."""
    parts = urllib.parse.urlparse(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxied = urllib.parse.urlparse(proxy if "://" in proxy else "http://" + proxy)
        return proxied.hostname or "", proxied.port or 80, "the proxy {}:{}".format(proxied.hostname, proxied.port)
    return host, port, host


def unreachable(url: str, timeout: float = PROBE_TIMEOUT_S) -> Optional[str]:
    """``None`` when a TCP connection to the host of ``url`` (or its proxy) opens within ``timeout``, else why
    not — a cheap check before a client that retries for a minute."""
    host, port, label = _connect_target(url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return "{} cannot be reached ({})".format(label, exc.strerror or exc.__class__.__name__)


@contextlib.contextmanager
def quiet_download_logs() -> Iterator[None]:
    """Silence the hub client's per-retry warnings, its HTTP library's request lines and timm's loading notes
    while a download is attempted (the failure is reported once, by the caller)."""
    saved: List[Tuple[logging.Logger, int]] = []
    for name, level in _QUIET:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(max(level, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)
