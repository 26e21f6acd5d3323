"""Shared fixtures: small models and their exports, built once per test module."""
import pytest
import torch

from edge_saliency import create_model

SIZE = (64, 96)


@pytest.fixture(scope="session")
def lite():
    torch.manual_seed(0)
    return create_model("emlnet-lite")


@pytest.fixture(scope="session")
def lite_trained():
    """EfficientNet-Lite0 with its real ImageNet weights (installed package); readouts and head random."""
    torch.manual_seed(0)
    return create_model("emlnet-lite", pretrained=True)
