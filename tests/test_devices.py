"""The one device vocabulary: auto, cpu, cuda, cuda:N."""
import pytest

from edge_saliency.devices import check_device, device_index, parse_device, torch_device, wants_cuda
from edge_saliency.errors import UserError


@pytest.mark.parametrize("text, parsed", [
    ("auto", ("auto", None)), ("cpu", ("cpu", None)), ("cuda", ("cuda", None)), ("cuda:1", ("cuda", 1)),
    (" CUDA:0 ", ("cuda", 0)),
])
def test_accepted(text, parsed):
    assert parse_device(text) == parsed
    assert check_device(text) == (parsed[0] if parsed[1] is None else "cuda:{}".format(parsed[1]))


@pytest.mark.parametrize("text", ["graphics", "cpu:0", "cuda:", "cuda:x", "auto:1", ""])
def test_refused_in_one_line(text):
    with pytest.raises(UserError, match="--device must be auto, cpu, cuda or cuda:N"):
        parse_device(text)


def test_gpu_number_and_torch_device():
    torch = pytest.importorskip("torch")
    assert device_index("cuda:3") == 3 and device_index("cuda", 2) == 2 and wants_cuda("cuda:1")
    assert not wants_cuda("auto")
    assert torch_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert torch_device("auto") == torch.device("cpu")
        with pytest.raises(UserError, match="--device cuda:1: this PyTorch sees no CUDA GPU"):
            torch_device("cuda:1")
    else:
        count = torch.cuda.device_count()
        with pytest.raises(UserError, match="PyTorch sees {} CUDA GPU".format(count)):
            torch_device("cuda:{}".format(count))
