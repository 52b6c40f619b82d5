import pytest
import torch

SHAPES = [(12, 400), (3, 375)]


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # shared 2-core machine; the models here are tiny
    yield
