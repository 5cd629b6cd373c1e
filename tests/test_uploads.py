"""Uploaded weights as a finished run (serve.uploads): what the store checks is refused with its reason, and what the
sidecar says beyond that is trusted only in the right shape."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ae_core import store
from ae_core.config import TrainConfig
from ae_core.registry import MODELS
from serve.uploads import uploaded_job


@pytest.fixture(scope="module")
def conv():
    _, model = store.load_model("conv_dae")
    return model


def upload(model, key="conv_dae", **meta):
    blob, side = store.to_bytes(key, model, {"name": key, **meta})
    return blob, json.dumps(side).encode()


def test_an_upload_is_a_finished_run_with_its_own_weights(conv):
    cfg = {"epochs": 7, "lr": 0.002, "noise_factor": 0.3}
    blob, side = upload(conv, config=cfg, dataset="MNIST (60,000)", precision="bf16")
    job = uploaded_job(blob, side, "my run.safetensors")
    assert job.state == "done" and job.uploaded and not job.active
    assert job.key == "conv_dae" and job.id == "" and job.owner == ""
    assert job.label == "upload my run.safetensors"
    assert job.config == TrainConfig.from_dict(cfg)
    assert job.config.epochs == 7 and job.config.lr == 0.002 and job.config.noise_factor == 0.3
    r = job.result
    assert r.key == "conv_dae" and r.config == job.config
    assert r.dataset == "MNIST (60,000)" and r.precision == "bf16"
    assert not r.model.training
    for a, b in zip(r.model.state_dict().values(), conv.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert job.sha256 == store.content_sha("conv_dae", conv) == json.loads(side)["sha256"]
    assert job.test_metrics is None  # the sidecar had none


def test_the_label_keeps_letters_digits_space_dot_underscore_dash_and_replaces_the_rest(conv):
    blob, side = upload(conv)
    job = uploaded_job(blob, side, "<b>a</b>&x y_z-1.safetensors\n")
    assert job.label == "upload _b_a__b__x y_z-1.safetensors_"
    long = "é" * 10 + "x" * 100
    assert uploaded_job(blob, side, long).label == "upload " + "é" * 10 + "x" * 30  # 40 characters of the name
    assert uploaded_job(blob, side, 12345).label == "upload 12345"


@pytest.mark.parametrize(
    "bad",
    [None, "fast", [1, 2], {"epochs": "ten"}, {"epochs": -1}, {"lr": float("inf")}, {"epochs": 10**30}, {"lr": 1e400}],
)
def test_a_config_that_is_not_a_valid_train_config_falls_back_to_the_recipe(conv, bad):
    blob, side = upload(conv, config=bad) if bad is not None else upload(conv)  # None: a sidecar with no config
    job = uploaded_job(blob, side, "x")
    assert job.config == MODELS["conv_dae"].recipe
    assert job.result.config == MODELS["conv_dae"].recipe


def test_an_unknown_config_field_is_ignored_and_the_rest_kept(conv):
    blob, side = upload(conv, config={"epochs": 3, "colour": "blue"})
    assert uploaded_job(blob, side, "x").config == TrainConfig(epochs=3)


@pytest.mark.parametrize(
    ("said", "ran"), [("fp32", "fp32"), ("bf16", "bf16"), ("fp16", "fp32"), (3, "fp32"), ("", "fp32"), (None, "fp32")]
)
def test_the_precision_is_what_the_sidecar_says_only_when_it_is_fp32_or_bf16(conv, said, ran):
    blob, side = upload(conv, config={"precision": "fp32"}, precision=said)
    assert uploaded_job(blob, side, "x").result.precision == ran


def test_without_a_precision_the_run_reports_its_config_precision(conv):
    blob, side = upload(conv, config={"precision": "bf16"})
    assert uploaded_job(blob, side, "x").result.precision == "bf16"
    blob, side = upload(conv, config={"precision": "auto"})
    assert uploaded_job(blob, side, "x").result.precision == "auto"  # neither fp32 nor bf16: the config's own word
    blob, side = upload(conv, config={"precision": "auto"}, precision="fp16")
    assert uploaded_job(blob, side, "x").result.precision == "auto"


def test_test_metrics_keep_only_the_four_scores_as_finite_numbers(conv):
    tm = {"psnr": 21.5, "ssim": 1, "bce": "0.1", "mse": float("nan"), "extra": 3.0}
    blob, side = upload(conv, test_metrics=tm)
    d = json.loads(side)
    d["test_metrics"]["mse"] = None  # JSON has no NaN by default: a null is the sidecar's way
    job = uploaded_job(blob, json.dumps(d).encode(), "x")
    assert job.test_metrics == {"psnr": 21.5, "ssim": 1.0}
    assert all(type(v) is float for v in job.test_metrics.values())
    raw = side.replace(b'"mse": NaN', b'"mse": Infinity')
    job = uploaded_job(blob, raw, "x")
    assert "mse" not in job.test_metrics and "bce" not in job.test_metrics
    assert math.isclose(job.test_metrics["psnr"], 21.5)


def test_test_metrics_that_are_not_an_object_are_left_out(conv):
    blob, side = upload(conv, test_metrics=[21.5, 0.9])
    assert uploaded_job(blob, side, "x").test_metrics is None


def test_the_dataset_is_text_of_at_most_200_characters(conv):
    blob, side = upload(conv, dataset="d" * 500)
    assert uploaded_job(blob, side, "x").result.dataset == "d" * 200
    blob, side = upload(conv, dataset=["MNIST"])
    assert uploaded_job(blob, side, "x").result.dataset == "['MNIST']"
    d = json.loads(upload(conv)[1])
    d.pop("dataset", None)
    assert uploaded_job(upload(conv)[0], json.dumps(d).encode(), "x").result.dataset == ""


def test_the_classifier_weights_are_refused_as_not_one_of_the_three(conv):
    _, cnn = store.load("digit_cnn")
    blob, side = store.to_bytes("digit_cnn", cnn, {"name": "digit_cnn"})
    with pytest.raises(store.WeightsError) as e:
        uploaded_job(blob, json.dumps(side).encode(), "x")
    assert str(e.value) == "'digit_cnn' weights are not one of the three autoencoders."


def test_whatever_the_store_refuses_is_refused_with_its_reason(conv):
    blob, side = upload(conv)
    with pytest.raises(store.WeightsError, match="does not match the sha256"):
        uploaded_job(blob[:-1] + b"\0", side, "x")
    with pytest.raises(store.WeightsError, match="not valid JSON"):
        uploaded_job(blob, b"{", "x")


def test_the_sidecars_precision_wins_over_the_configs(conv):
    blob, side = upload(conv, config={"precision": "bf16"}, precision="fp32")
    assert uploaded_job(blob, side, "x").result.precision == "fp32"
    blob, side = upload(conv, config={"precision": "fp32"}, precision="bf16")
    assert uploaded_job(blob, side, "x").result.precision == "bf16"


def test_all_four_finite_scores_are_kept(conv):
    tm = {"bce": 0.07, "mse": 0.004, "psnr": 24, "ssim": 0.9}
    blob, side = upload(conv, test_metrics=tm)
    assert uploaded_job(blob, side, "x").test_metrics == {"bce": 0.07, "mse": 0.004, "psnr": 24.0, "ssim": 0.9}
