"""Backbone weights timm would download: the cache is used without network, an offline machine gets one
line naming ``--backbone-weights KEY=PATH`` before anything is built, and the reachability probe (loopback
only) tells an open port from a closed one, through a proxy too."""
import logging
import os
import socket

import pytest
import torch

from edge_saliency.errors import WeightsError
from edge_saliency.models import create_model, downloads, resolve_config
from edge_saliency.models.downloads import TimmWeights, quiet_download_logs, unreachable
from edge_saliency.training import stage1_config


def fake_hub_cache(root, repo, filename, write):
    """A Hugging Face hub cache entry as a download leaves it: refs/main names the snapshot holding the file."""
    folder = os.path.join(root, "models--" + repo.replace("/", "--"))
    os.makedirs(os.path.join(folder, "refs"), exist_ok=True)
    with open(os.path.join(folder, "refs", "main"), "w") as f:
        f.write("0123456789abcdef")
    path = os.path.join(folder, "snapshots", "0123456789abcdef", filename)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write(path)
    return path


@pytest.fixture
def closed_port():
    """A loopback port that refuses connections (bound, never listening), held for the test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    constants = pytest.importorskip("huggingface_hub.constants")
    hub = str(tmp_path / "hub")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", hub)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return hub


def test_probe_tells_an_open_port_from_a_closed_one(closed_port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        assert unreachable("http://127.0.0.1:{}/x".format(server.getsockname()[1]), timeout=2) is None
    finally:
        server.close()
    reason = unreachable("http://127.0.0.1:{}/x".format(closed_port), timeout=2)
    assert reason is not None and reason.startswith("127.0.0.1 cannot be reached")


def test_probe_goes_to_the_proxy_when_one_applies(closed_port, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:{}".format(closed_port))
    reason = unreachable("https://huggingface.co/timm/x", timeout=2)
    assert reason is not None and "the proxy 127.0.0.1:{}".format(closed_port) in reason
    monkeypatch.setenv("no_proxy", "huggingface.co")  # bypassed: the host itself is probed
    assert downloads._connect_target("https://huggingface.co/x") == ("huggingface.co", 443, "huggingface.co")


def test_offline_is_one_error_for_every_encoder_before_anything_is_built(empty_caches, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    built = []
    monkeypatch.setattr("edge_saliency.models.weights.EMLNet", lambda *a: built.append(a))
    with pytest.raises(WeightsError) as info:
        create_model("emlnet-densenet161-nasnetlarge", pretrained=True)
    message = str(info.value)
    assert "\n" not in message and not built
    assert "encoder 'densenet161' (its places365 weights cannot be downloaded)" in message
    assert "encoder 'nasnetalarge' (timm's nasnetalarge.tf_in1k is not in the download cache and HF_HUB_OFFLINE " \
           "is set)" in message
    assert message.endswith("pass the files with --backbone-weights KEY=PATH: densenet161=<densenet161_places365"
                            ".pth.tar from the CSAIL Places365 release> nasnetalarge=<model.safetensors of "
                            "https://huggingface.co/timm/nasnetalarge.tf_in1k>")


def test_a_cached_download_is_used_without_network(empty_caches, monkeypatch):
    # the weights timm downloaded earlier (here: written into the cache) load with no request at all
    timm = pytest.importorskip("timm")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    monkeypatch.setattr(TimmWeights, "offline_reason", lambda self: pytest.fail("no network check needed"))
    monkeypatch.setattr("edge_saliency.models.weights.default_backbone_file", lambda name: None)
    torch.manual_seed(3)
    reference = timm.create_model("efficientnet_lite0").state_dict()  # with its classifier, as timm saves it

    def write(path):
        safetensors_torch.save_file({k: v.contiguous() for k, v in reference.items()}, path)

    path = fake_hub_cache(empty_caches, "timm/efficientnet_lite0.ra_in1k", "model.safetensors", write)
    assert TimmWeights("efficientnet_lite0.ra_in1k").cached_file() == path
    model = create_model(stage1_config(resolve_config("emlnet-lite")), pretrained=True)
    loaded = model.encoders["efficientnet_lite0"].backbone.model.state_dict()
    compared = [k for k in loaded if k in reference]
    assert len(compared) > 100
    for key in compared:
        torch.testing.assert_close(loaded[key], reference[key], rtol=0, atol=0, msg=key)


def test_quiet_download_logs_silences_the_hub_retries_and_restores_the_levels(caplog):
    hub_logger = logging.getLogger("huggingface_hub.utils._http")
    before = logging.getLogger("huggingface_hub").level
    with caplog.at_level(logging.INFO):
        with quiet_download_logs():
            hub_logger.warning("Retrying in 1s [Retry 1/5].")
            logging.getLogger("timm.models._builder").info("Loading pretrained weights")
        hub_logger.warning("after")
    assert [r.getMessage() for r in caplog.records] == ["after"]
    assert logging.getLogger("huggingface_hub").level == before


def test_a_failed_download_is_one_error_with_the_way_out(empty_caches, monkeypatch, caplog):
    # the host answers (a loopback server) but has no such file: one WeightsError, no retry lines logged
    import http.server
    import threading

    constants = pytest.importorskip("huggingface_hub.constants")
    requests = []

    class NotFound(http.server.BaseHTTPRequestHandler):
        def _reply(self):
            requests.append(self.path)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _reply

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = "http://127.0.0.1:{}".format(server.server_address[1])
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr("edge_saliency.models.weights.default_backbone_file", lambda name: None)
    caplog.set_level(logging.INFO)
    try:
        with pytest.raises(WeightsError) as info:
            create_model(stage1_config(resolve_config("emlnet-lite")), pretrained=True)
    finally:
        server.shutdown()
        server.server_close()
    message = str(info.value)
    assert requests and "\n" not in message
    assert message.startswith("cannot download timm's efficientnet_lite0.ra_in1k weights for encoder "
                              "'efficientnet_lite0' (")
    assert message.endswith("pass the file with --backbone-weights KEY=PATH: efficientnet_lite0=<model.safetensors "
                            "of {}/timm/efficientnet_lite0.ra_in1k>".format(endpoint))
    assert [r.name for r in caplog.records] == ["edge_saliency"]  # only our "downloading ..." line


def test_without_huggingface_hub_timm_urls_and_the_torch_hub_cache_are_used(empty_caches, monkeypatch, tmp_path):
    monkeypatch.setattr(downloads, "_hub", lambda: None)
    weights = TimmWeights("resnet50.tv_in1k")
    assert weights.hub_repo is None and weights.location == weights.url
    assert weights.url.startswith("https://") and weights.url.endswith(".pth")
    assert weights.cached_file() is None
    path = tmp_path / "torch" / "hub" / "checkpoints" / os.path.basename(weights.url)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights")
    assert weights.cached_file() == str(path)
