import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ae_core import compare, inspect, render
from ae_core.config import NOISE_TYPES
from ae_core.messages import Message
from ui import charts, frame, insight, server, session
from ui.i18n import N_, _, listing, model_name, noise_label, tr

frame.page(
    N_("Inside the models"),
    N_(
        "What each autoencoder has learned: its layers and shapes, its codes and filters, the Conv DAE's feature maps "
        "for your digit, where digits land in code space, and how the models behave when pushed."
    ),
)

models, origin, shas = session.models_or_errors()
digits = server.test_set()
ss = st.session_state
current = session.current_digit(digits)  # (28, 28)
x_current = inspect.as_input(current)


def op_text(op: str) -> str:
    """A layer's operation in the reader's language ("ReLU" stays: a technical term)."""
    return tr(op) if isinstance(op, Message) else _(op)


def img(a, scale: int = 1) -> bytes:
    return render.gray_png(np.asarray(a), scale)


st.subheader(_("Architecture"))
tabs = st.tabs([model_name(k) for k in models])
for tab, model in zip(tabs, models.values(), strict=True):
    rows = inspect.architecture(model)
    tab.dataframe(
        pd.DataFrame(
            [
                {
                    _("step"): r.name,
                    _("operation"): op_text(r.op),
                    _("output (H×W×C)"): r.shape_text,
                    _("parameters"): r.params,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    tab.caption(
        " → ".join(r.shape_text for r in rows if r.op in ("input", "max-pool 2×2", "nearest resize") or r.name == "out")
        + " · "
        + _("{n:,} parameters").format(n=sum(r.params for r in rows))
    )

if "basic_ae" in models:
    st.subheader(_("Basic AE codes"))
    five = digits.batch(slice(0, 5))
    code_imgs = inspect.code_images(models["basic_ae"], five)
    recon = compare.run_model(models["basic_ae"], five)
    cols = st.columns(5)
    for i, col in enumerate(cols):
        label = int(digits.labels[i])
        col.image(
            img(five[i, 0]),
            width="stretch",
            caption=_("digit {label}").format(label=label),
            output_format="PNG",
            alt=_("Test digit #{i}, a handwritten {label}").format(i=i, label=label),
        )
        col.image(
            img(code_imgs[i]),
            width="stretch",
            caption=_("its 64-unit code as 8×8"),
            output_format="PNG",
            alt=_("The Basic AE's 64-unit code for this {label}, drawn as an 8×8 grid of grey levels").format(
                label=label
            ),
        )
        col.image(
            img(recon[i, 0]),
            width="stretch",
            caption=_("reconstruction"),
            output_format="PNG",
            alt=_("The Basic AE's reconstruction of this {label} from its code").format(label=label),
        )

dense = [k for k in ("basic_ae", "dense_dae") if k in models]
if dense:
    st.subheader(_("Learned filters"))
    cols = st.columns(len(dense))
    for col, k in zip(cols, dense, strict=True):
        f = inspect.dense_filters(models[k])
        col.image(
            render.grid(list(f), nrow=8, scale=2),
            output_format="PNG",
            caption=_("{model}: the {n} encoder weight vectors as 28×28 tiles").format(model=model_name(k), n=len(f)),
            alt=_("{model}'s {n} learned encoder filters, each a 28×28 tile of stroke-like weights").format(
                model=model_name(k), n=len(f)
            ),
        )

if "conv_dae" in models:
    st.subheader(_("Conv DAE feature maps for your digit"))
    noisy_toggle = st.toggle(_("Add Gaussian 0.5 noise first"), value=True, key="in_fm_noisy")
    x = inspect.as_input(compare.noisy_digit(current, "gaussian", 0.5, 0)) if noisy_toggle else x_current
    maps = inspect.feature_maps(models["conv_dae"], x)
    cols = st.columns(4)
    for i, (layer, m) in enumerate(maps):
        n = min(len(m), 32)
        what = f"{layer.name}: {op_text(layer.op)}, {layer.shape_text}"
        if n < len(m):
            what += " " + _("(first {n} of {total})").format(n=n, total=len(m))
        cols[i % 4].image(
            render.grid(list(m[:n]), nrow=8, scale=max(1, 28 // m.shape[-1])),
            output_format="PNG",
            caption=what,
            alt=_("Conv DAE feature maps at {layer}: {n} channels as grey tiles").format(layer=what, n=n),
        )

st.subheader(_("Latent map"))
c = st.columns([1, 1, 2])
lm_noise = c[0].selectbox(_("Noise for your digit"), NOISE_TYPES, format_func=noise_label, key="in_lm_noise")
lm_factor = c[1].slider(_("Factor"), 0.0, 1.0, 0.5, 0.05, key="in_lm_factor")
sub = server.subset()
pool = sub.batch(slice(0, 2000))
noisy_current = inspect.as_input(compare.noisy_digit(current, lm_noise, lm_factor, 0))
latent_charts, facts = [], []
clean_word, noisy_word = _("clean"), _("noisy")
for key, model in models.items():
    p = server.cached(*insight.pca_job(key, model, shas, sub), _("Mapping codes…"), heavy=False)
    pts = pd.DataFrame(p.points.numpy(), columns=["pc1", "pc2"]).assign(
        digit=sub.labels[: len(pool)].numpy().astype(str)
    )
    a, b = (
        p.project(inspect.codes(model, x_current).double())[0],
        p.project(inspect.codes(model, noisy_current).double())[0],
    )
    mine = pd.DataFrame(
        {"pc1": [float(a[0]), float(b[0])], "pc2": [float(a[1]), float(b[1])], "which": [clean_word, noisy_word]}
    )
    facts.append(
        {
            _("model"): model_name(key),
            _("clean PC 1"): f"{float(a[0]):.2f}",
            _("clean PC 2"): f"{float(a[1]):.2f}",
            _("noisy PC 1"): f"{float(b[0]):.2f}",
            _("noisy PC 2"): f"{float(b[1]):.2f}",
            _("distance moved"): f"{float(((a - b) ** 2).sum() ** 0.5):.2f}",
        }
    )
    base = (
        alt.Chart(pts)
        .mark_circle(size=14, opacity=0.55, aria=False)
        .encode(
            x=alt.X("pc1:Q", title=_("PC {n}").format(n=1)),
            y=alt.Y("pc2:Q", title=_("PC {n}").format(n=2)),
            color=alt.Color("digit:N", title=_("class")),
        )
    )
    arrow = alt.Chart(mine).mark_line(color="white", strokeWidth=2, aria=False).encode(x="pc1:Q", y="pc2:Q")
    ends = (
        alt.Chart(mine)
        .mark_point(size=120, filled=True, color="white", aria=False)
        .encode(x="pc1:Q", y="pc2:Q", shape=alt.Shape("which:N", title=_("your digit")))
    )
    latent_charts.append((key, (base + arrow + ends).properties(title=model_name(key), height=300)))
for col, (key, ch) in zip(st.columns(len(latent_charts)), latent_charts, strict=True):
    col.altair_chart(
        ch.configure(aria=False),  # one text alternative (alt=) and the numbers below, not Vega's English mark labels
        width="stretch",
        alt=_(
            "Scatter plot: {model}'s codes of test digits in a PCA plane, with your digit's clean and noisy codes"
        ).format(model=model_name(key)),
    )
charts.numbers(pd.DataFrame(facts), _("the latent maps"))
st.caption(
    _(
        "PCA of the codes of {n:,} test digits, coloured by class. The line joins your digit's clean and noisy codes: "
        "how far the noise moves it. Move through these planes and watch the decoders draw on the page Explore the "
        "code space."
    ).format(n=len(pool))
)

st.subheader(_("Interpolation"))
c = st.columns(2)
ia = c[0].number_input(_("From test digit #"), 0, len(digits) - 1, 0, key="in_a")
ib = c[1].number_input(_("To test digit #"), 0, len(digits) - 1, 1, key="in_b")
for key, model in models.items():
    strip = inspect.interpolate(model, digits.batch(slice(ia, ia + 1)), digits.batch(slice(ib, ib + 1)), 10)
    st.image(
        render.grid(list(strip[:, 0]), nrow=10, scale=3),
        output_format="PNG",
        caption=_("{model}: 10 steps through its code space").format(model=model_name(key)),
        alt=_("{model}: 10 digits morphing from test digit #{a} to #{b} through its code space").format(
            model=model_name(key), a=ia, b=ib
        ),
    )

st.subheader(_("Stress tests"))
st.markdown(
    _(
        "**Denoise a clean digit** (does the model leave it alone?) and **denoise again and again** (5 passes: does "
        "it drift?)"
    )
)
for key, model in models.items():
    passes = inspect.repeat(model, x_current, 5)
    drift = ", ".join(f"{d:.1f}" for d in [float(compare.metrics.psnr(x_current, p)[0]) for p in passes])
    st.image(
        render.grid([current] + [p[0, 0] for p in passes], nrow=6, scale=3),
        output_format="PNG",
        caption=_("{model}: your digit, then passes 1-5 · PSNR vs your digit: {drift}").format(
            model=model_name(key), drift=drift
        ),
        alt=_("{model}: your digit, then the output of 5 passes in a row; PSNR against your digit {drift} dB").format(
            model=model_name(key), drift=drift
        ),
    )
st.markdown(_("**A non-digit input** shows the prior each model learned: everything is pulled towards digits."))
shape = st.radio(_("Shape"), list(inspect.SHAPES), format_func=_, horizontal=True, key="in_shape")
x_shape = inspect.as_input(inspect.SHAPES[shape]())
outs = [compare.run_model(m, x_shape)[0, 0] for m in models.values()]
st.image(
    render.grid([x_shape[0, 0]] + outs, nrow=len(outs) + 1, scale=4),
    output_format="PNG",
    caption=_("input, then {models}").format(models=listing(model_name(k) for k in models)),
    alt=_("A {shape} and what each model makes of it: {models}").format(
        shape=_(shape), models=listing(model_name(k) for k in models)
    ),
)
