import torch

from ae_core import inspect, store
from ae_core.registry import MODELS, build


def test_conv_architecture_tells_the_tutorials_story():
    rows = inspect.architecture(build("conv_dae"))
    shapes = [r.shape_text for r in rows]
    assert shapes[0] == "28×28×1" and shapes[-1] == "28×28×1"
    story = ["28×28×64", "14×14×64", "7×7×64", "7×7×32", "4×4×32", "7×7×32", "14×14×32", "14×14×64", "28×28×64"]
    it = iter(shapes)
    assert all(s in it for s in story)  # in this order
    assert sum(r.params for r in rows) == MODELS["conv_dae"].params


def test_architecture_rows_match_the_real_modules():
    for key in MODELS:
        model = build(key)
        acts = inspect.activations(model, torch.rand(1, 1, 28, 28))
        for r in inspect.architecture(model):
            if r.name != "input":
                assert tuple(acts[r.name].shape[1:]) == r.shape, (key, r.name)


def test_pca_shapes_and_projection():
    c = torch.randn(200, 32)
    p = inspect.pca2(c)
    assert p.points.shape == (200, 2) and p.components.shape == (32, 2)
    torch.testing.assert_close(p.project(c[:5].double()), p.points[:5])
    assert p.points[:, 0].var() >= p.points[:, 1].var()


def test_interpolation_endpoints_are_the_decoded_codes(sample):
    for key in MODELS:
        _, model = store.load_model(key)
        a, b = sample.batch(slice(0, 1)), sample.batch(slice(1, 2))
        strip = inspect.interpolate(model, a, b, 10)
        assert strip.shape == (10, 1, 28, 28)
        with torch.inference_mode():
            torch.testing.assert_close(strip[0], torch.sigmoid(model.decode(model.encode(a)))[0])
            torch.testing.assert_close(strip[-1], torch.sigmoid(model.decode(model.encode(b)))[0])


def test_feature_maps_and_filters(sample):
    _, conv = store.load_model("conv_dae")
    maps = inspect.feature_maps(conv, sample.batch(slice(0, 1)))
    assert [m.shape for _, m in maps][:6] == [
        (64, 28, 28),
        (64, 14, 14),
        (64, 14, 14),
        (64, 7, 7),
        (32, 7, 7),
        (32, 4, 4),
    ]
    assert all(m.min() >= 0 and m.max() <= 1 for _, m in maps)
    assert inspect.dense_filters(store.load_model("basic_ae")[1]).shape == (64, 28, 28)


def test_repeat_returns_each_pass(sample):
    _, m = store.load_model("dense_dae")
    x = sample.batch(slice(0, 2))
    outs = inspect.repeat(m, x, 5)
    assert len(outs) == 5 and all(o.shape == (2, 1, 28, 28) for o in outs)
    assert torch.equal(outs[0], inspect.run(m, x)[0])
    for prev, nxt in zip(outs, outs[1:], strict=False):  # each pass is fed the one before it
        assert torch.equal(nxt, inspect.run(m, prev)[0])
        assert not torch.equal(nxt, prev)


def test_tables_and_feature_maps_never_disturb_forward_passes_in_other_threads(sample):
    """The shared, cached models run in other sessions' threads while one session's Inside page inspects them.
    (torch.fx.symbolic_trace patched nn.Module.__call__ for the whole process: forward passes elsewhere returned
    Proxy objects or raised.)"""
    import threading

    models = {k: store.load_model(k)[1] for k in MODELS}
    x = sample.batch(slice(0, 4))
    with torch.inference_mode():
        expected = {k: m(x) for k, m in models.items()}
    tables = {k: inspect.architecture(m) for k, m in models.items()}
    failures, done = [], threading.Event()

    def forward():
        n = 0
        while not done.is_set() or n < 200:
            for k, m in models.items():
                try:
                    with torch.inference_mode():
                        out = m(x)
                    if not isinstance(out, torch.Tensor) or not torch.equal(out, expected[k]):
                        failures.append(f"{k}: {type(out).__name__}")
                except Exception as e:  # noqa: BLE001 - collected and asserted below
                    failures.append(f"{k}: {type(e).__name__}: {e}")
            n += 1

    def inspecting():
        for _ in range(40):
            for k, m in models.items():
                if inspect.architecture(m) != tables[k]:
                    failures.append(f"{k}: table changed")
            inspect.feature_maps(models["conv_dae"], x[:1])

    runners = [threading.Thread(target=forward) for _ in range(2)]
    inspectors = [threading.Thread(target=inspecting) for _ in range(2)]
    for t in runners + inspectors:
        t.start()
    for t in inspectors:
        t.join()
    done.set()
    for t in runners:
        t.join()
    assert not failures, failures[:5]


def test_inspecting_leaves_the_model_untouched():
    m = build("conv_dae")
    before = (dict(m._forward_hooks), dict(m._forward_pre_hooks), type(m).__call__)
    inspect.activations(m, torch.rand(1, 1, 28, 28))
    assert (dict(m._forward_hooks), dict(m._forward_pre_hooks), type(m).__call__) == before
