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
