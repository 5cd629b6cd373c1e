import time

import pandas as pd
import streamlit as st
import torch

from ae_core import explore, inspect, render
from ae_core.classifier import predict
from ui import explorer as ex
from ui import frame, i18n, server, session
from ui.i18n import N_, _, model_name, tr

frame.page(
    N_("Explore the code space"),
    N_(
        "Move through each autoencoder's code space and watch its decoder draw: pick a place on the map or with the "
        "sliders, see the nearest real digits, turn single code units up and down, and walk from one digit to "
        "another."
    ),
)

models, origin, shas = session.models_or_errors()
digits = server.test_set()
sub = server.subset()
ss = st.session_state
current = session.current_digit(digits)  # (28, 28)
if not digits.full:
    st.info(tr(server.dataset_note()))
x_current = inspect.as_input(current)  # (1, 1, 28, 28)
if not models:
    st.stop()

spaces = ex.spaces(models, shas)
bounds = ex.z_bounds(spaces)
ex.init_place(spaces, models, x_current, bounds)
clf = server.digit_classifier()
pool_imgs = sub.batch(slice(None))  # (N, 1, 28, 28)


def reads_as(img: torch.Tensor) -> str:
    if clf is None:
        return ""
    label, conf = predict(clf[1], img)
    return _("reads as {label} ({confidence:.0%})").format(label=int(label[0]), confidence=float(conf[0]))


def column(key: str, z: torch.Tensor) -> dict:
    """One model at place z: its decoded digit, what the classifier reads, and the 5 nearest real digits."""
    space = spaces[key]
    code = space.code_at(z.view(1, 2))
    img = explore.decode(models[key], code)  # (1, 1, 28, 28)
    idx, _dist = explore.nearest(space, code)
    reads = reads_as(img)
    return {
        "name": model_name(key),
        "decoded": render.gray_png(img[0, 0].numpy(), 8),
        "alt": _("{model}'s decoder output at PC 1 = {z1:.2f}, PC 2 = {z2:.2f}").format(
            model=model_name(key), z1=float(z[0]), z2=float(z[1])
        )
        + (f"; {reads}" if reads else ""),
        "reads": reads,
        "near": render.png(render.grid(list(pool_imgs[idx][:, 0]), nrow=5, scale=2)),
        "near_labels": ", ".join(str(int(space.labels[i])) for i in idx),
    }


def maps_spec() -> dict:
    """All three maps as one Vega-Lite view, cached server-wide per weights and range (ui/explorer.maps_spec)."""
    return server.cached(
        (
            "maps",
            server.weights_key(models, shas),
            sub.source,
            bounds,
            i18n.current(),
        ),  # titles in the reader's language
        lambda _p: ex.maps_spec({model_name(k): spaces[k] for k in models}, bounds),
        "",
        heavy=False,  # a chart's spec from the spaces already computed
    )


@session.fragment
def plane() -> None:
    """Only this part reruns when the place moves."""
    c = st.columns(2)
    c[0].slider(
        _("PC {n} (σ)").format(n=1),
        *bounds,
        step=ex.STEP,
        key="ex_z1",
        help=_("Standard deviations along the first component"),
    )
    c[1].slider(_("PC {n} (σ)").format(n=2), *bounds, step=ex.STEP, key="ex_z2", help=_("…and along the second"))
    z = torch.tensor([ss.ex_z1, ss.ex_z2], dtype=torch.float64)
    st.html(ex.row_html([column(key, z) for key in models]))
    st.vega_lite_chart(
        pd.DataFrame({"z1": [float(z[0])], "z2": [float(z[1])]}),
        maps_spec(),
        on_select=lambda: ex.on_pick("ex_maps", bounds),
        selection_mode="pick",
        key="ex_maps",
        alt=_(
            "Scatter plots: each model's code space as a PCA plane of test digits coloured by class, with the current "
            "place marked; the sliders above move it"
        ),
    )
    st.caption(
        _(
            "Each map is a PCA of one model's codes for {n:,} test digits, in standard deviations of each "
            "component, so the same place means the same thing on all three. Click a map or move the sliders: the "
            "point is mapped back to a code (mean + components · point) and decoded. The sliders reach every place "
            "the maps do, from the keyboard too."
        ).format(n=len(sub))
    )


st.subheader(_("The plane"))
plane()


@session.fragment
def walk() -> None:
    st.subheader(_("Walk from one digit to another"))
    c = st.columns([1, 1, 1], vertical_alignment="bottom")
    a = c[0].number_input(_("From test digit #"), 0, len(digits) - 1, 0, key="ex_walk_a")
    b = c[1].number_input(_("To test digit #"), 0, len(digits) - 1, 1, key="ex_walk_b")
    go = c[2].button(_("Walk"), type="primary", width="stretch", key="ex_walk_go")
    xa, xb = digits.batch(slice(a, a + 1)), digits.batch(slice(b, b + 1))
    paths = {
        k: explore.walk(spaces[k].z_of(explore.encode(m, xa))[0], spaces[k].z_of(explore.encode(m, xb))[0])
        for k, m in models.items()
    }
    frames = {k: explore.decode(models[k], spaces[k].code_at(p)) for k, p in paths.items()}  # (10, 1, 28, 28)
    slots = st.columns(len(models))
    if go:  # animate: each model walks the straight line between the two digits' places in its own plane
        holders = [s.empty() for s in slots]
        for i in range(len(next(iter(frames.values())))):
            for h, k in zip(holders, models, strict=True):
                step = _("{model}: step {i}/10").format(model=model_name(k), i=i + 1)
                h.image(render.gray_png(frames[k][i, 0].numpy(), 6), caption=step, width="stretch", alt=step)
            time.sleep(0.15)
    for k in models:
        walk_text = _("{model}: test #{a} → #{b}, 10 steps along a straight line in its PCA plane").format(
            model=model_name(k), a=a, b=b
        )
        st.image(render.grid(list(frames[k][:, 0]), nrow=10, scale=3), output_format="PNG", alt=walk_text)
        st.caption(walk_text)


walk()


@session.fragment
def units() -> None:
    st.subheader(_("One code unit at a time"))
    key = st.radio(_("Model"), list(models), format_func=model_name, horizontal=True, key="ex_unit_model")
    space, model = spaces[key], models[key]
    code = explore.encode(model, x_current)  # (1, *code_shape)
    conv = len(space.code_shape) > 1
    prefix = f"ex_u_{key}_{ex.digit_key(x_current)}_"
    st.caption(
        _(
            "The 8 channels of the 4×4×32 code with the largest variance over the test digits. Each slider scales "
            "its whole channel (1 = your digit's own code)."
        )
        if conv
        else _("The 8 code units with the largest variance over the test digits, starting at your digit's values.")
    )
    cols, values = st.columns(4), {}
    for i, u in enumerate(space.units):
        own = 1.0 if conv else float(code[0, u])
        top = 3.0 if conv else max(float(space.codes[:, u].max()) * 1.5, own, 1.0)
        v = cols[i % 4].slider(
            _("channel {u}").format(u=u) if conv else _("unit {u}").format(u=u),
            0.0,
            top,
            own,
            0.05 if conv else 0.01,
            key=f"{prefix}{u}",
        )
        if v != own:
            values[u] = v
    st.button(_("Reset to your digit"), on_click=ex.reset_sliders, args=(prefix,), key="ex_unit_reset")
    left, right, _spare = st.columns([1, 1, 2])
    recon = explore.decode(model, code)
    edited = explore.decode(model, explore.edit(space, code, values)) if values else recon
    for col, img, caption, alt in (
        (left, recon, _("your digit's reconstruction"), _("{model}'s reconstruction of your digit")),
        (right, edited, _("with your code changes"), _("{model}'s output with your code changes")),
    ):
        col.image(
            render.gray_png(img[0, 0].numpy(), 6),
            caption=caption,
            width="stretch",
            alt=alt.format(model=model_name(key)),
        )
        col.markdown(reads_as(img))


units()
