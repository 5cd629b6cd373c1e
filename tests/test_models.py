import pytest
import torch

from ae_core.registry import MODELS, build, count_params, spec


@pytest.mark.parametrize("key", list(MODELS))
def test_shapes_and_param_counts(key):
    m = build(key)
    x = torch.rand(5, 1, 28, 28)
    assert m(x).shape == (5, 1, 28, 28)
    assert count_params(m) == MODELS[key].params


def test_param_counts_match_the_tutorial():
    assert {k: s.params for k, s in MODELS.items()} == {"basic_ae": 101_200, "dense_dae": 50_992, "conv_dae": 121_281}


@pytest.mark.parametrize("key,code_shape", [("basic_ae", (3, 64)), ("dense_dae", (3, 32)), ("conv_dae", (3, 32, 4, 4))])
def test_encode_decode_round_trip(key, code_shape):
    m = build(key).eval()
    x = torch.rand(3, 1, 28, 28)
    code = m.encode(x)
    assert code.shape == code_shape
    assert (code >= 0).all()  # ReLU codes
    torch.testing.assert_close(m.decode(code), m(x))


def test_conv_bottleneck_is_tensorflow_same_pooling():
    """TensorFlow's 'same' pooling of 7x7 pads one row and column at the bottom right, then pools 2x2: the code's
    last row and column come from the 7th row and column alone ('valid' pooling would drop them)."""
    from torch.nn import functional as F

    m = build("conv_dae", seed=3)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        h = F.max_pool2d(F.relu(m.enc2(F.max_pool2d(F.relu(m.enc1(x)), 2))), 2)  # (2, 64, 7, 7)
        a = F.relu(m.enc3(h))  # (2, 32, 7, 7), >= 0, so zero padding acts like TensorFlow's -inf padding
        tf_same = F.max_pool2d(F.pad(a, (0, 1, 0, 1)), 2)  # (2, 32, 4, 4)
        code = m.encode(x)
    assert code.shape == (2, 32, 4, 4)
    torch.testing.assert_close(code, tf_same, rtol=0, atol=0)
    torch.testing.assert_close(code[..., 3, 3], a[..., 6, 6], rtol=0, atol=0)


def test_build_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = build("conv_dae", seed=1), build("conv_dae", seed=1), build("conv_dae", seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (k, va), vb, vc in zip(a.state_dict().items(), b.state_dict().values(), c.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
        assert not torch.equal(va, vc), k


def test_registry_recipes_are_the_tutorials():
    assert (spec("basic_ae").recipe.lr, spec("basic_ae").recipe.epochs, spec("basic_ae").recipe.noise_factor) == (
        0.01,
        20,
        0.0,
    )
    assert (spec("dense_dae").recipe.lr, spec("dense_dae").recipe.epochs, spec("dense_dae").recipe.noise_factor) == (
        0.001,
        30,
        0.5,
    )
    assert (spec("conv_dae").recipe.lr, spec("conv_dae").recipe.epochs, spec("conv_dae").recipe.noise_factor) == (
        0.001,
        10,
        0.5,
    )
    assert all(s.recipe.batch_size == 128 and s.recipe.schedule == "constant" for s in MODELS.values())
    with pytest.raises(KeyError, match="unknown model"):
        spec("vae")


@pytest.mark.parametrize("shape,ceil", [((3, 64, 28, 28), False), ((2, 64, 14, 14), False), ((2, 32, 7, 7), True)])
def test_fast_pooling_is_max_pool2d_bit_for_bit_and_keeps_the_layout(shape, ceil):
    """The inference path pools on a channels_last copy (faster); it must give max_pool2d's exact values, ties
    included (ReLU outputs are full of equal zeros), and hand back the layout it got."""
    import torch.nn.functional as F

    from ae_core.models import _pool

    x = torch.relu(torch.randn(shape, generator=torch.Generator().manual_seed(0)))  # (N, C, H, W), half zeros
    with torch.inference_mode():
        want = F.max_pool2d(x, 2, ceil_mode=ceil)
        got = _pool(x, ceil_mode=ceil)
        assert torch.equal(got, want) and got.is_contiguous()
        cl = _pool(x.contiguous(memory_format=torch.channels_last), ceil_mode=ceil)
        assert torch.equal(cl, want) and cl.is_contiguous(memory_format=torch.channels_last)
    xg = x.clone().requires_grad_()  # training: max_pool2d's own kernel and gradient routing
    _pool(xg, ceil_mode=ceil).sum().backward()
    xr = x.clone().requires_grad_()
    F.max_pool2d(xr, 2, ceil_mode=ceil).sum().backward()
    assert torch.equal(xg.grad, xr.grad)


@pytest.mark.parametrize("key", ["conv_dae", "digit_cnn"])
def test_shipped_conv_networks_give_the_same_bits_as_plain_pooling(key, sample, monkeypatch):
    """Outputs of the shipped weights, one digit at a time (the playground) and in bulk, equal those with plain
    max_pool2d everywhere: the fast pooling changes speed, not one bit of any output."""
    import torch.nn.functional as F

    from ae_core import models, noise, store
    from ae_core.infer import outputs

    _, m = store.load(key, expect_key=key)
    x = noise.apply("gaussian", sample.images[:300].float().reshape(-1, 1, 28, 28) / 255, 0.5, 1)  # (300, 1, 28, 28)

    def every_output():
        with torch.inference_mode():
            single = torch.cat([m(x[i : i + 1]) for i in range(40)])
            return single, outputs(m, x)  # the bulk path (>= 256) runs on a channels_last copy

    fast = every_output()
    monkeypatch.setattr(models, "_pool", lambda t, ceil_mode=False: F.max_pool2d(t, 2, ceil_mode=ceil_mode))
    plain = every_output()
    assert all(torch.equal(a, b) for a, b in zip(fast, plain, strict=True))
