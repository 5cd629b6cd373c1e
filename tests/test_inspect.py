import numpy as np
import pytest
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


def table(key):
    return [(r.name, str(r.op), r.shape, r.params, r.shape_text) for r in inspect.architecture(build(key))]


def test_the_basic_ae_table_row_by_row():
    assert table("basic_ae") == [
        ("input", "input", (1, 28, 28), 0, "28×28×1"),
        ("flatten", "flatten", (784,), 0, "784"),
        ("encoder", "dense 784→64", (64,), 784 * 64 + 64, "64"),
        ("relu", "ReLU", (64,), 0, "64"),
        ("decoder", "dense 64→784", (784,), 64 * 784 + 784, "784"),
        ("view", "reshape", (1, 28, 28), 0, "28×28×1"),
    ]


def test_the_conv_dae_table_names_each_step_and_counts_repeats():
    rows = table("conv_dae")
    assert [r[0] for r in rows] == [
        "input",
        "enc1",
        "relu",
        "max_pool2d",
        "enc2",
        "relu_1",
        "max_pool2d_1",
        "enc3",
        "relu_2",
        "max_pool2d_2",
        "interpolate",
        "dec1",
        "relu_3",
        "interpolate_1",
        "dec2",
        "relu_4",
        "interpolate_2",
        "dec3",
        "relu_5",
        "out",
    ]
    ops = dict((r[0], r[1]) for r in rows)
    assert ops["enc1"] == "conv 3×3, 1→64" and ops["enc3"] == "conv 3×3, 64→32" and ops["out"] == "conv 3×3, 64→1"
    assert ops["max_pool2d_2"] == "max-pool 2×2" and ops["interpolate"] == "nearest resize"
    params = dict((r[0], r[3]) for r in rows)
    assert params["enc1"] == 64 * 9 + 64 and params["enc2"] == 64 * 64 * 9 + 64 and params["out"] == 64 * 9 + 1
    assert all(params[n] == 0 for n in params if not n.startswith(("enc", "dec", "out")))


def test_a_layer_shows_its_shape_as_height_width_channels_or_as_a_vector():
    assert inspect.Layer("x", "", (64, 7, 5), 0).shape_text == "7×5×64"
    assert inspect.Layer("x", "", (784,), 0).shape_text == "784"
    assert inspect.Layer("x", "", (3, 4), 0).shape_text == "3×4"


def test_a_module_that_is_neither_conv_nor_dense_is_named_by_its_class():
    assert inspect._describe(torch.nn.Conv2d(3, 5, (3, 1))) == "conv 3×1, 3→5"
    assert inspect._describe(torch.nn.Linear(7, 2)) == "dense 7→2"
    assert inspect._describe(torch.nn.ReLU()) == "ReLU"


def test_the_recorder_copies_each_output_and_skips_calls_that_are_not_steps():
    x = torch.rand(1, 1, 28, 28)
    steps = inspect.trace(build("conv_dae"), x)
    assert steps[0][1] is x
    relu = dict((layer.name, out) for layer, out in steps)
    enc1 = relu["enc1"]
    assert enc1.min() < 0  # the conv's own output, before the in-place ReLU changed it
    torch.testing.assert_close(relu["relu"], enc1.clamp_min(0))
    assert len({layer.name for layer, _ in steps}) == len(steps)


def test_feature_maps_are_each_channel_scaled_to_fill_zero_to_one(sample):
    _, conv = store.load_model("conv_dae")
    x = sample.batch(slice(0, 1))
    acts = inspect.activations(conv, x)
    maps = inspect.feature_maps(conv, x)
    names = [layer.name for layer, _ in maps]
    assert names == [
        "relu",
        "max_pool2d",
        "relu_1",
        "max_pool2d_1",
        "relu_2",
        "max_pool2d_2",
        "relu_3",
        "relu_4",
        "relu_5",
        "out",
    ]
    for layer, m in maps:
        a = acts[layer.name][0].float()
        if layer.name == "out":
            a = torch.sigmoid(a)
        lo, hi = a.amin((1, 2), keepdim=True), a.amax((1, 2), keepdim=True)
        live = (hi - lo).flatten() > 1e-6
        np.testing.assert_allclose(m, ((a - lo) / (hi - lo).clamp_min(1e-8)).numpy(), rtol=1e-6, atol=1e-6)
        assert np.allclose(m.reshape(len(m), -1)[live.numpy()].max(1), 1) and np.allclose(
            m.reshape(len(m), -1).min(1), 0
        )
    out = maps[-1][1][0]
    assert out.max() == pytest.approx(1) and out.min() == pytest.approx(0)
    assert np.all(np.isfinite(np.concatenate([m.ravel() for _, m in maps])))  # dead channels are 0, not NaN


def test_dense_filters_are_the_encoder_rows_each_scaled_to_zero_to_one():
    m = build("basic_ae")
    with torch.no_grad():
        m.encoder.weight[3] = 0.5  # a constant filter: 0, not NaN
        m.encoder.weight[4] = torch.linspace(-2, 6, 784)
    f = inspect.dense_filters(m)
    assert f.shape == (64, 28, 28)
    assert (f[3] == 0).all()
    np.testing.assert_allclose(f[4].ravel(), np.linspace(0, 1, 784), atol=1e-6)
    w = m.encoder.weight[7].detach()
    np.testing.assert_allclose(f[7].ravel(), ((w - w.min()) / (w.max() - w.min())).numpy(), atol=1e-6)


def test_as_input_is_the_one_image_batch_the_models_take():
    img = np.arange(784, dtype=np.float64).reshape(28, 28) / 784
    x = inspect.as_input(img)
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    np.testing.assert_allclose(x[0, 0].numpy(), img.astype(np.float32))
    assert inspect.as_input(img.ravel()).shape == (1, 1, 28, 28)


def test_code_images_are_the_64_unit_codes_as_8x8_scaled_by_their_largest(sample):
    _, m = store.load_model("basic_ae")
    x = sample.batch(slice(0, 3))
    c = inspect.codes(m, x)
    assert c.shape == (3, 64)
    img = inspect.code_images(m, x)
    assert img.shape == (3, 8, 8)
    for i in range(3):
        np.testing.assert_allclose(img[i].ravel(), (c[i] / c[i].max()).numpy(), rtol=1e-6)
        assert img[i].max() == pytest.approx(1)
    zero = build("basic_ae")
    with torch.no_grad():
        zero.encoder.weight.zero_()
        zero.encoder.bias.zero_()
    assert (inspect.code_images(zero, x) == 0).all()  # all-zero codes stay 0, never NaN
    small = build("basic_ae")
    small.load_state_dict(m.state_dict())
    with torch.no_grad():
        small.encoder.weight.mul_(1e-3)
        small.encoder.bias.mul_(1e-3)
    weak = inspect.code_images(small, x)
    assert inspect.codes(small, x).max() < 0.1 and weak.max() == pytest.approx(1)  # small codes fill the scale too


def test_codes_of_a_large_batch_come_in_chunks_and_match_one_pass(sample):
    _, m = store.load_model("dense_dae")
    x = sample.batch(slice(0, 10)).repeat(120, 1, 1, 1)  # 1200: two chunks of at most 1000
    c = inspect.codes(m, x)
    assert c.shape == (1200, 32)
    with torch.inference_mode():
        torch.testing.assert_close(c, m.encode(x).flatten(1))


def test_pca_signs_make_the_largest_loading_positive_and_components_orthonormal():
    g = torch.Generator().manual_seed(0)
    c = torch.randn(300, 6, generator=g) * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    p = inspect.pca2(c)
    comp = p.components
    for j in range(2):
        assert comp[comp[:, j].abs().argmax(), j] > 0
    torch.testing.assert_close(comp.T @ comp, torch.eye(2, dtype=torch.float64))
    torch.testing.assert_close(p.mean, c.double().mean(0))
    assert comp[0, 0].abs() > 0.99 and comp[1, 1].abs() > 0.99  # the two widest axes, in order
    torch.testing.assert_close(p.points, (c.double() - p.mean) @ comp)
    flipped = inspect.pca2(-c)
    torch.testing.assert_close(flipped.components, comp)  # the same signs whichever way the data points


def test_stress_shapes_are_drawn_as_their_names_say():
    sq = inspect.SHAPES["square"]()
    assert sq.shape == (28, 28) and sq.dtype == np.float32
    assert sq[6, 6] == 1 and sq[21, 21] == 1 and sq[5, 5] == 0 and sq[22, 22] == 0
    assert sq[9:19, 9:19].sum() == 0 and sq.sum() == 16 * 16 - 10 * 10
    ring = inspect.SHAPES["ring"]()
    assert ring.dtype == np.float32 and set(np.unique(ring)) == {0.0, 1.0}
    assert ring[13, 13] == 0 and ring[14, 14] == 0  # the hole
    assert ring[13, 5] == 1 and ring[13, 22] == 1 and ring[5, 13] == 1  # radius 8 from the centre 13.5
    assert ring[9, 9] == 1 and ring[13, 7] == 1  # radius 6.4 and 6.5: just outside the hole of radius 6
    assert ring[0, 0] == 0 and ring[13, 3] == 0  # outside radius 10
    assert (ring == ring[::-1, ::-1]).all() and (ring == ring.T).all()
    assert inspect.SHAPES["blank"]().sum() == 0 and inspect.SHAPES["blank"]().shape == (28, 28)
    for name in ("letter A", "letter K"):
        a = inspect.SHAPES[name]()
        assert a.shape == (28, 28) and a.dtype == np.float32 and a.max() == 1
        assert a[0, 0] == 0 and a[-1, -1] == 0 and (a == 0).sum() > 500  # white on black
        ys, xs = np.nonzero(a > 0.5)
        assert ys.min() <= 9 and ys.max() >= 18  # a glyph about 15 px high (size 22, anchored at its middle)
        assert abs(ys.mean() - 14) < 3 and abs(xs.mean() - 14) < 3  # centred
        assert 20 < (a > 0.5).sum() < 200
    assert not np.array_equal(inspect.SHAPES["letter A"](), inspect.SHAPES["letter K"]())


def test_repeat_feeds_back_five_times_by_default(sample):
    _, m = store.load_model("dense_dae")
    assert len(inspect.repeat(m, sample.batch(slice(0, 1)))) == 5
