"""The latent explorer's core: inverse PCA, nearest digits, code sliders and walks, on the shipped weights."""

import pytest
import torch

from ae_core import explore, store
from ae_core.registry import MODELS


@pytest.fixture(scope="module")
def shipped():
    return {k: store.load_model(k)[1] for k in MODELS}


@pytest.fixture(scope="module")
def pool(sample_module):
    return sample_module.batch(slice(0, 300)), sample_module.labels[:300]


@pytest.fixture(scope="module")
def sample_module():
    from ae_core.data import load_sample

    return load_sample()


@pytest.mark.parametrize("key", list(MODELS))
def test_a_digits_own_place_decodes_to_its_projected_code(shipped, pool, key):
    model, (x, labels) = shipped[key], pool
    space = explore.build(model, x, labels)
    code = explore.encode(model, x[:7])  # (7, *code_shape)
    z = space.z_of(code)  # (7, 2)
    assert torch.allclose(z, space.points[:7] / space.std)  # the same places the map draws
    # Projecting onto the plane independently: mean + C Cᵀ (c - mean), with C from an SVD of the centred codes.
    c = space.codes - space.codes.mean(0)
    basis = torch.linalg.svd(c, full_matrices=False)[2][:2].T  # (D, 2)
    flat = code.reshape(7, -1).double()
    projected = (space.mean + (flat - space.mean) @ basis @ basis.T).float().reshape(code.shape)
    got = explore.decode(model, space.code_at(z))
    want = explore.decode(model, projected)
    assert got.shape == (7, 1, 28, 28)
    assert torch.allclose(got, want, atol=1e-4)


def test_the_plane_spans_the_data_and_units_are_the_most_varied(shipped, pool):
    x, labels = pool
    for model in shipped.values():
        space = explore.build(model, x, labels)
        lo, hi = space.z_range()
        assert lo < -1.5 and hi > 1.5  # in standard deviations: most digits lie within the range
        flat = space.codes
        if len(space.code_shape) == 1:
            var = flat.var(0)
        else:
            c = flat.reshape(len(flat), space.code_shape[0], -1)
            var = torch.stack([c[:, ch].reshape(-1).var() for ch in range(space.code_shape[0])])
        assert list(space.units) == var.argsort(descending=True)[:8].tolist()


def test_nearest_digits_match_brute_force_on_a_small_set(shipped, pool):
    x, labels = pool
    model = shipped["dense_dae"]
    space = explore.build(model, x[:25], labels[:25])
    query = explore.encode(model, x[30:31])
    idx, dist = explore.nearest(space, query, k=5)
    brute = sorted(range(25), key=lambda i: float(((space.codes[i] - query[0].double()) ** 2).sum()))[:5]
    assert idx.tolist() == brute
    assert torch.all(dist[1:] >= dist[:-1])
    own, d0 = explore.nearest(space, explore.encode(model, x[3:4]), k=1)
    assert own.tolist() == [3] and float(d0[0]) == pytest.approx(0, abs=1e-5)


@pytest.mark.parametrize("key", list(MODELS))
def test_a_code_slider_at_the_digits_own_value_reproduces_its_reconstruction(shipped, pool, key):
    model, (x, labels) = shipped[key], pool
    space = explore.build(model, x, labels)
    digit = x[5:6]
    code = explore.encode(model, digit)
    conv = len(space.code_shape) > 1
    unit = space.units[0]
    own = {unit: 1.0} if conv else {unit: float(code[0, unit])}
    with torch.inference_mode():
        reconstruction = torch.sigmoid(model(digit))
    assert torch.equal(explore.decode(model, explore.edit(space, code, own)), reconstruction)
    moved = {unit: 3.0} if conv else {unit: float(code[0, unit]) + 5.0}
    assert not torch.equal(explore.decode(model, explore.edit(space, code, moved)), reconstruction)
    assert torch.equal(explore.encode(model, digit), code)  # edit works on a copy


def test_a_walk_is_a_straight_line_of_ten_places():
    za, zb = torch.tensor([-1.0, 2.0]), torch.tensor([3.0, 0.0])
    path = explore.walk(za, zb)
    assert path.shape == (10, 2)
    assert torch.allclose(path[0], za.double()) and torch.allclose(path[-1], zb.double())
    steps = path[1:] - path[:-1]
    assert torch.allclose(steps, steps[0].expand_as(steps))


def test_the_planes_extent_is_in_standard_deviations(shipped, pool):
    x, labels = pool
    space = explore.build(shipped["dense_dae"], x, labels)
    torch.testing.assert_close(space.std, space.points.std(0))
    z = space.points / space.points.std(0)
    assert space.z_range() == (float(z.min()), float(z.max()))
    assert -6 < space.z_range()[0] < -1 < 1 < space.z_range()[1] < 6
    assert torch.equal(space.labels, labels) and space.labels is not labels  # a copy: the cache's own
    assert space.code_shape == (32,)
    assert explore.build(shipped["conv_dae"], x, labels).code_shape == (32, 4, 4)


def test_a_pool_of_identical_digits_has_a_tiny_not_zero_spread(shipped, pool):
    x, labels = pool
    same = x[:1].repeat(2, 1, 1, 1)  # two: their mean is exactly their code, so every point is exactly 0
    space = explore.build(shipped["dense_dae"], same, labels[:2])
    assert (space.std == 1e-12).all()  # clamped: places in the plane stay finite
    assert torch.isfinite(space.z_of(explore.encode(shipped["dense_dae"], same))).all()


def test_top_units_are_the_highest_variance_units_or_channels():
    g = torch.Generator().manual_seed(0)
    dense = torch.randn(50, 16, generator=g) * 2.0 ** torch.arange(16)
    assert explore._top_units(dense, (16,)) == tuple(range(15, 7, -1))
    conv = torch.randn(50, 10, 2, 2, generator=g) * (2.0 ** torch.arange(10)).view(1, 10, 1, 1)
    assert explore._top_units(conv.reshape(50, -1), (10, 2, 2)) == (9, 8, 7, 6, 5, 4, 3, 2)
    # one channel with one wildly varying position beats a channel that varies a little everywhere
    conv = torch.zeros(50, 10, 2, 2)
    conv[:, 3, 0, 0] = torch.randn(50, generator=g) * 100
    conv[:, 5] = torch.randn(50, 2, 2, generator=g)
    assert explore._top_units(conv.reshape(50, -1), (10, 2, 2))[:2] == (3, 5)


def test_a_conv_channel_slider_scales_the_whole_channel(shipped, pool):
    x, labels = pool
    space = explore.build(shipped["conv_dae"], x, labels)
    code = explore.encode(shipped["conv_dae"], x[:1])
    out = explore.edit(space, code, {2: 3.0, 5: 0.0})
    torch.testing.assert_close(out[0, 2], code[0, 2] * 3)
    assert (out[0, 5] == 0).all()
    assert torch.equal(out[0, 0], code[0, 0])
    dense = explore.build(shipped["dense_dae"], x, labels)
    dcode = explore.encode(shipped["dense_dae"], x[:1])
    out = explore.edit(dense, dcode, {4: 2.5})
    assert out[0, 4] == 2.5 and torch.equal(out[0, :4], dcode[0, :4])


def test_a_walk_is_evenly_spaced_in_float64():
    w = explore.walk(torch.tensor([0.0, 1.0]), torch.tensor([1.0, -1.0]), steps=5)
    assert w.dtype == torch.float64 and w.shape == (5, 2)
    torch.testing.assert_close(
        w, torch.tensor([[0, 1], [0.25, 0.5], [0.5, 0], [0.75, -0.5], [1, -1]], dtype=torch.float64)
    )
    w = explore.walk(torch.tensor([0.1, 0.2], dtype=torch.float64), torch.tensor([0.3, 0.7], dtype=torch.float64), 3)
    assert w[1].tolist() == [0.5 * 0.1 + 0.5 * 0.3, 0.5 * 0.2 + 0.5 * 0.7]  # computed in float64 throughout
    za, zb = torch.tensor([0.0, 0.0], dtype=torch.float64), torch.tensor([3.0, 1.0], dtype=torch.float64)
    third = 1 / 3  # float64's third, not float32's
    assert explore.walk(za, zb, 4)[1].tolist() == [(1 - third) * 0 + third * 3, third]


def test_nearest_gives_the_five_closest_pool_digits_by_default(shipped, pool):
    x, labels = pool
    space = explore.build(shipped["dense_dae"], x, labels)
    code = explore.encode(shipped["dense_dae"], x[7:8])
    idx, dist = explore.nearest(space, code)
    assert len(idx) == len(dist) == 5 and idx[0] == 7 and dist[0] == pytest.approx(0, abs=1e-5)
    full = torch.cdist(code.reshape(1, -1).double(), space.codes)[0]
    assert torch.equal(dist, full.sort().values[:5])
    assert len(explore.nearest(space, code, k=10_000)[0]) == 300  # at most the pool
