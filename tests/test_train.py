import threading
from types import SimpleNamespace

import pytest
import torch

from ae_core.config import TrainConfig
from ae_core.registry import build
from ae_core.train import Progress, TrainingDiverged, train

SMALL = TrainConfig(epochs=1, lr=3e-3, batch_size=64, train_size=1000, val_split=0.2, seed=0, device="cpu")


def val_loss_of_untrained(sample, key):
    res = train(key, SMALL.replace(epochs=1, lr=1e-12), data=sample)  # a step this small changes nothing measurable
    return res.history[0].val_loss


@pytest.mark.parametrize("key", ["dense_dae", "conv_dae"])
def test_one_epoch_lowers_the_loss(sample, key):
    before = val_loss_of_untrained(sample, key)
    events = []
    res = train(key, SMALL, data=sample, on_progress=events.append, progress_every=2)
    assert res.epochs_done == 1 and not res.stopped
    assert res.history[0].val_loss < before - 0.05  # BCE of an untrained net is ~0.69
    assert events and events[-1].batch == events[-1].batches == 13  # 800 train images / 64
    assert all(isinstance(e, Progress) and e.eta_s >= 0 and e.images_per_s > 0 for e in events)
    assert not res.model.training and next(res.model.parameters()).device.type == "cpu"


def test_same_seed_same_losses_on_cpu(sample):
    cfg = SMALL.replace(epochs=2, train_size=512)
    a, b = train("basic_ae", cfg, data=sample), train("basic_ae", cfg, data=sample)
    assert [e.train_loss for e in a.history] == [e.train_loss for e in b.history]
    assert [e.val_loss for e in a.history] == [e.val_loss for e in b.history]
    c = train("basic_ae", cfg.replace(seed=1), data=sample)
    assert [e.train_loss for e in c.history] != [e.train_loss for e in a.history]


def test_stop_flag_is_honoured_at_the_next_batch_and_keeps_last_epoch(sample):
    stop = threading.Event()
    snapshots, after_stop = [], []

    def on_epoch(stats, model):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})

    def on_progress(p):
        if stop.is_set():
            after_stop.append(p)
        if p.epoch == 2 and p.batch == 3:
            stop.set()

    res = train(
        "conv_dae",
        SMALL.replace(epochs=5, train_size=640, val_split=0.0),
        data=sample,
        on_progress=on_progress,
        on_epoch=on_epoch,
        stop=stop,
        progress_every=1,
    )
    assert res.stopped and res.epochs_done == 1
    assert after_stop == []  # no batch ran after the flag was seen
    for k, v in res.model.state_dict().items():
        assert torch.equal(v, snapshots[0][k]), k  # the model is epoch 1's, not a half-trained epoch 2


def test_stop_before_start_returns_untrained(sample):
    stop = threading.Event()
    stop.set()
    res = train("dense_dae", SMALL, data=sample, stop=stop)
    assert res.stopped and res.history == []


def test_nan_loss_stops_with_a_clear_message(sample, poison_loss):
    poison_loss(3)
    with pytest.raises(
        TrainingDiverged, match=r"nan at epoch 1, batches 1-\d+.*learning rate \(0.003\) is probably too high"
    ):
        train("basic_ae", SMALL, data=sample)


@pytest.mark.parametrize(
    "bad",
    [
        dict(epochs=0),
        dict(lr=float("nan")),
        dict(lr=-1),
        dict(noise_type="x"),
        dict(noise_factor=2),
        dict(train_size=1),
        dict(batch_size=0),
        dict(device="tpu"),
    ],
)
def test_bad_config_is_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_training_does_not_touch_global_rng(sample):
    state = torch.random.get_rng_state()
    train("dense_dae", SMALL.replace(train_size=256), data=sample)
    assert torch.equal(torch.random.get_rng_state(), state)


def lrs(schedule: str, steps: int = 100, lr: float = 0.01) -> list[float]:
    """The learning rate at each of `steps` optimizer steps under a schedule (what the training loop steps)."""
    from ae_core.train import _scheduler

    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = _scheduler(opt, SMALL.replace(schedule=schedule, lr=lr), steps)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
    return out


def test_the_schedules_shape_the_learning_rate():
    """onecycle (the shipped recipe): warm up to lr at 30% of the steps, then anneal far below it; cosine: from lr
    down to almost 0; constant: lr throughout."""
    assert lrs("constant") == [0.01] * 100
    one = lrs("onecycle")
    peak = max(range(100), key=one.__getitem__)
    assert one[0] == pytest.approx(0.01 / 25) and peak in range(28, 32) and one[peak] == pytest.approx(0.01, rel=1e-3)
    assert one[-1] < 1e-5 and all(a <= b for a, b in zip(one[:peak], one[1 : peak + 1], strict=True))
    cos = lrs("cosine")
    assert cos[0] == 0.01 and cos[50] == pytest.approx(0.005, rel=0.01) and cos[-1] < 1e-5
    assert all(a > b for a, b in zip(cos, cos[1:], strict=False))


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_training_follows_the_schedule(sample, schedule):
    """A run with a schedule learns, and is not the constant-lr run: the loop steps the scheduler."""
    cfg = SMALL.replace(epochs=2, train_size=512)
    scheduled = train("dense_dae", cfg.replace(schedule=schedule), data=sample)
    constant = train("dense_dae", cfg, data=sample)
    assert scheduled.history[-1].val_loss < 0.6
    assert [e.train_loss for e in scheduled.history] != [e.train_loss for e in constant.history]


@pytest.mark.usefixtures("full_mnist")
def test_the_cli_trains_scores_and_saves_a_loadable_run(tmp_path, capsys):
    """python -m ae_core.train, from arguments to a saved sidecar: config, test metrics and weights all agree."""
    from ae_core import store
    from ae_core.evaluate import evaluate
    from ae_core.train import main

    argv = ["--model", "dense_dae", "--epochs", "1", "--train-size", "512", "--val-split", "0", "--seed", "3"]
    assert main([*argv, "--schedule", "cosine", "--out", str(tmp_path), "--name", "cli-run"]) == 0
    sidecar, model = store.load("cli-run", tmp_path, expect_key="dense_dae")
    assert sidecar["recipe"] == "tutorial" and sidecar["epochs_done"] == 1
    cfg = sidecar["config"]
    assert (cfg["epochs"], cfg["train_size"], cfg["val_split"], cfg["seed"], cfg["schedule"]) == (
        1,
        512,
        0.0,
        3,
        "cosine",
    )
    ev = evaluate({"dense_dae": model}, cfg["noise_type"], cfg["noise_factor"], seed=0)
    assert sidecar["test_metrics"]["psnr"] == pytest.approx(ev.summary()["dense_dae"]["psnr"], abs=1e-6)
    assert sidecar["test_metrics"]["n"] == 10_000
    out = capsys.readouterr().out
    assert (
        f"saved {tmp_path / sidecar['tensor_file']}" in out and f"PSNR {sidecar['test_metrics']['psnr']:.2f} dB" in out
    )
    assert sorted(p.name for p in tmp_path.glob("[!.]*")) == sorted(["cli-run.json", sidecar["tensor_file"]])


def test_the_estimate_is_training_plus_a_third_for_validation_plus_scoring():
    from ae_core.train import estimate_seconds

    cfg = TrainConfig(epochs=3, train_size=1000, val_split=0.2)
    # 800 training images at 100/s, 200 validation images at a third of the cost, 3 epochs; then 500 at 50/s
    assert estimate_seconds(cfg, 100.0) == pytest.approx(3 * (8 + 200 / 300))
    assert estimate_seconds(cfg, 100.0, n_test=500, scoring_per_s=50.0) == pytest.approx(3 * (8 + 200 / 300) + 10)
    assert estimate_seconds(TrainConfig(epochs=2, train_size=600, val_split=0.0), 300.0) == pytest.approx(4.0)


def test_a_runs_record_rounds_its_history_and_resolves_its_precision():
    from ae_core.engine import EpochStats
    from ae_core.train import TrainResult, run_meta

    cfg = TrainConfig(epochs=3, precision="auto")
    h = [EpochStats(1, 0.1234567, 0.2345678, 1.234, 1000.04), EpochStats(2, 0.1, None, 2.0, 2000.0)]
    r = TrainResult("conv_dae", cfg, build("conv_dae"), h, stopped=True, device="cpu", dataset="d", precision="bf16")
    meta = run_meta(r, "ae-lab")
    assert meta == {
        "recipe": "ae-lab",
        "config": cfg.replace(precision="bf16").to_dict(),
        "dataset": "d",
        "device": "cpu",
        "precision": "bf16",
        "epochs_done": 2,
        "stopped_early": True,
        "history": {
            "train_loss": [0.123457, 0.1],
            "val_loss": [0.234568, None],
            "seconds": 3.23,
            "images_per_s": 1500.0,
        },
    }
    empty = run_meta(TrainResult("conv_dae", cfg, build("conv_dae")))
    assert empty["recipe"] == "custom" and empty["epochs_done"] == 0 and empty["stopped_early"] is False
    assert empty["history"] == {"train_loss": [], "val_loss": [], "seconds": 0, "images_per_s": 0.0}


def test_the_measured_rates_are_images_per_second_of_the_real_step(monkeypatch):
    """Not a timing check: the clock is replaced, so the rate is the images counted over a known time."""
    from ae_core import train as train_mod

    ticks = iter([10.0, 12.0])
    monkeypatch.setattr(train_mod, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))  # this module's clock
    steps = []
    real = train_mod.engine.stepper

    def counting(loop):
        run = real(loop)
        assert loop.batch_size == loop.n == 32 and loop.sched is None and loop.lr == 0.01
        return lambda idx: steps.append(len(idx)) or run(idx)

    monkeypatch.setattr(train_mod.engine, "stepper", counting)
    cfg = TrainConfig(batch_size=32, lr=0.01, device="cpu", precision="fp32")
    assert train_mod.measure_rate("dense_dae", cfg, batches=3) == 3 * 32 / 2.0
    assert steps == [32] * 4  # one warm-up step, then the three timed
    ticks = iter([5.0, 9.0])
    assert train_mod.measure_scoring_rate("dense_dae", n=100) == 100 / 4.0
