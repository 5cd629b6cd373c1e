"""ae_core/config: every default, every bound at its edge with its exact message, and the dict round trip."""

from __future__ import annotations

import dataclasses

import pytest

from ae_core import config
from ae_core.config import TrainConfig


def test_the_defaults_are_the_tutorials():
    assert TrainConfig().to_dict() == {
        "epochs": 10,
        "lr": 1e-3,
        "batch_size": 128,
        "noise_type": "gaussian",
        "noise_factor": 0.5,
        "train_size": 60000,
        "val_split": 0.1,
        "seed": 0,
        "device": "auto",
        "schedule": "constant",
        "weight_decay": 0.0,
        "precision": "auto",
    }
    assert config.NOISE_TYPES == ("gaussian", "salt_pepper", "masking")
    assert config.SCHEDULES == ("constant", "onecycle", "cosine")
    assert config.DEVICES == ("auto", "cpu", "cuda", "mps")
    assert config.PRECISIONS == ("auto", "fp32", "bf16")
    assert config.MAX_SEED == 2**63 - 1


# (field, values accepted at the edges, values refused just past them, the message)
BOUNDS = [
    ("epochs", [1, 500], [0, 501], "epochs must be between 1 and 500"),
    ("lr", [1e-12, 10.0], [0.0, -1.0, 10.000001, float("nan"), float("inf")], "lr must be a number in (0, 10]"),
    ("batch_size", [1, 8192], [0, 8193], "batch_size must be between 1 and 8192"),
    ("noise_type", ["gaussian", "salt_pepper", "masking"], ["speckle", "Gaussian"],
     "noise_type must be one of gaussian, salt_pepper, masking"),
    ("noise_factor", [0.0, 1.0], [-0.01, 1.01], "noise_factor must be between 0 and 1"),
    ("train_size", [16, 60000], [15, 60001], "train_size must be between 16 and 60000"),
    ("val_split", [0.0, 0.4999], [-0.1, 0.5], "val_split must be in [0, 0.5)"),
    ("schedule", ["constant", "onecycle", "cosine"], ["linear"], "schedule must be one of constant, onecycle, cosine"),
    ("device", ["auto", "cpu", "cuda", "mps"], ["gpu", "tpu"], "device must be one of auto, cpu, cuda, mps"),
    ("weight_decay", [0.0, 0.999], [-0.001, 1.0], "weight_decay must be in [0, 1)"),
    ("seed", [0, 2**63 - 1], [-1, 2**63, 1.5, "3"], "seed must be a whole number between 0 and 9223372036854775807"),
    ("precision", ["auto", "fp32", "bf16"], ["fp16", "bfloat16"], "precision must be one of auto, fp32, bf16"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "ok", "bad", "message"), BOUNDS, ids=[b[0] for b in BOUNDS])
def test_each_bound_at_its_edge(field, ok, bad, message):
    for v in ok:
        assert getattr(TrainConfig(**{field: v}), field) == v
    for v in bad:
        with pytest.raises(ValueError) as e:
            TrainConfig(**{field: v})
        assert str(e.value) == message, (field, v)


def test_every_problem_is_named_at_once_in_order():
    with pytest.raises(ValueError) as e:
        TrainConfig(epochs=0, lr=0, batch_size=0, noise_type="x", noise_factor=2, train_size=1, val_split=1,
                    schedule="x", device="x", weight_decay=1, seed=-1, precision="x")  # fmt: skip
    assert str(e.value).split("; ") == [b[3] for b in BOUNDS]


def test_frozen_replace_and_dict_round_trip():
    cfg = TrainConfig(epochs=3, noise_type="masking", seed=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 4
    other = cfg.replace(lr=0.5)
    assert other.lr == 0.5 and other.epochs == 3 and cfg.lr == 1e-3
    with pytest.raises(ValueError, match="^epochs must be between 1 and 500$"):
        cfg.replace(epochs=0)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_dict({**cfg.to_dict(), "unknown": 1, "comment": "x"}) == cfg  # other keys are ignored
    assert TrainConfig.from_dict({"epochs": 2}) == TrainConfig(epochs=2)
    with pytest.raises(ValueError):
        TrainConfig.from_dict({"epochs": 0})
