import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from ae_core import compare, inspect, render
from ae_core.config import NOISE_TYPES
from ae_core.noise import LABELS as NOISE_LABELS
from ae_core.registry import MODELS
from ui import frame, server, session

frame.page(
    "Inside the models",
    "What each autoencoder has learned: its layers and shapes, its codes and filters, the Conv DAE's feature maps "
    "for your digit, where digits land in code space, and how the models behave when pushed.",
)

models, origin, shas = session.models_or_errors()
digits = server.test_set()
ss = st.session_state
current = session.current_digit(digits)  # (28, 28)
x_current = inspect.as_input(current)


def img(a, scale: int = 1) -> bytes:
    return render.gray_png(np.asarray(a), scale)


st.subheader("Architecture")
tabs = st.tabs([MODELS[k].name for k in models])
for tab, model in zip(tabs, models.values(), strict=True):
    rows = inspect.architecture(model)
    tab.dataframe(
        pd.DataFrame(
            [{"step": r.name, "operation": r.op, "output (H×W×C)": r.shape_text, "parameters": r.params} for r in rows]
        ),
        hide_index=True,
        width="stretch",
    )
    tab.caption(
        " → ".join(r.shape_text for r in rows if r.op in ("input", "max-pool 2×2", "nearest resize") or r.name == "out")
        + f" · {sum(r.params for r in rows):,} parameters"
    )

if "basic_ae" in models:
    st.subheader("Basic AE codes")
    five = digits.batch(slice(0, 5))
    code_imgs = inspect.code_images(models["basic_ae"], five)
    recon = compare.run_model(models["basic_ae"], five)
    cols = st.columns(5)
    for i, col in enumerate(cols):
        col.image(img(five[i, 0]), width="stretch", caption=f"digit {int(digits.labels[i])}", output_format="PNG")
        col.image(
            img(code_imgs[i]),
            width="stretch",
            caption="its 64-unit code as 8×8",
            output_format="PNG",
        )
        col.image(img(recon[i, 0]), width="stretch", caption="reconstruction", output_format="PNG")

dense = [k for k in ("basic_ae", "dense_dae") if k in models]
if dense:
    st.subheader("Learned filters")
    cols = st.columns(len(dense))
    for col, k in zip(cols, dense, strict=True):
        f = inspect.dense_filters(models[k])
        col.image(
            render.grid(list(f), nrow=8, scale=2),
            output_format="PNG",
            caption=f"{MODELS[k].name}: the {len(f)} encoder weight vectors as 28×28 tiles",
        )

if "conv_dae" in models:
    st.subheader("Conv DAE feature maps for your digit")
    noisy_toggle = st.toggle("Add Gaussian 0.5 noise first", value=True, key="in_fm_noisy")
    x = inspect.as_input(compare.noisy_digit(current, "gaussian", 0.5, 0)) if noisy_toggle else x_current
    maps = inspect.feature_maps(models["conv_dae"], x)
    cols = st.columns(4)
    for i, (layer, m) in enumerate(maps):
        n = min(len(m), 32)
        cols[i % 4].image(
            render.grid(list(m[:n]), nrow=8, scale=max(1, 28 // m.shape[-1])),
            output_format="PNG",
            caption=f"{layer.name}: {layer.op}, {layer.shape_text}"
            + (f" (first {n} of {len(m)})" if n < len(m) else ""),
        )

st.subheader("Latent map")
c = st.columns([1, 1, 2])
lm_noise = c[0].selectbox("Noise for your digit", NOISE_TYPES, format_func=NOISE_LABELS.get, key="in_lm_noise")
lm_factor = c[1].slider("Factor", 0.0, 1.0, 0.5, 0.05, key="in_lm_factor")
sub = server.subset()
pool = sub.batch(slice(0, 2000))
noisy_current = inspect.as_input(compare.noisy_digit(current, lm_noise, lm_factor, 0))
charts = []
for key, model in models.items():
    p = server.cached(
        ("pca", server.weights_key({key: model}, shas), sub.source),
        lambda _p, m=model: inspect.pca2(inspect.codes(m, pool)),
        "Mapping codes…",
    )
    pts = pd.DataFrame(p.points.numpy(), columns=["pc1", "pc2"]).assign(
        digit=sub.labels[: len(pool)].numpy().astype(str)
    )
    a, b = (
        p.project(inspect.codes(model, x_current).double())[0],
        p.project(inspect.codes(model, noisy_current).double())[0],
    )
    mine = pd.DataFrame(
        {"pc1": [float(a[0]), float(b[0])], "pc2": [float(a[1]), float(b[1])], "which": ["clean", "noisy"]}
    )
    base = (
        alt.Chart(pts)
        .mark_circle(size=14, opacity=0.55)
        .encode(x="pc1:Q", y="pc2:Q", color=alt.Color("digit:N", title="class"))
    )
    arrow = alt.Chart(mine).mark_line(color="white", strokeWidth=2).encode(x="pc1:Q", y="pc2:Q")
    ends = (
        alt.Chart(mine)
        .mark_point(size=120, filled=True, color="white")
        .encode(x="pc1:Q", y="pc2:Q", shape=alt.Shape("which:N", title="your digit"))
    )
    charts.append((base + arrow + ends).properties(title=MODELS[key].name, height=300))
for col, ch in zip(st.columns(len(charts)), charts, strict=True):
    col.altair_chart(ch, width="stretch")
st.caption(
    f"PCA of the codes of {len(pool):,} test digits, coloured by class. The line joins your digit's clean and noisy codes: how far the noise moves it. "
    "Move through these planes and watch the decoders draw on the page Explore the code space."
)

st.subheader("Interpolation")
c = st.columns(2)
ia = c[0].number_input("From test digit #", 0, len(digits) - 1, 0, key="in_a")
ib = c[1].number_input("To test digit #", 0, len(digits) - 1, 1, key="in_b")
for key, model in models.items():
    strip = inspect.interpolate(model, digits.batch(slice(ia, ia + 1)), digits.batch(slice(ib, ib + 1)), 10)
    st.image(
        render.grid(list(strip[:, 0]), nrow=10, scale=3),
        output_format="PNG",
        caption=f"{MODELS[key].name}: 10 steps through its code space",
    )

st.subheader("Stress tests")
st.markdown(
    "**Denoise a clean digit** (does the model leave it alone?) and **denoise again and again** (5 passes: does it drift?)"
)
for key, model in models.items():
    passes = inspect.repeat(model, x_current, 5)
    drift = [float(compare.metrics.psnr(x_current, p)[0]) for p in passes]
    st.image(
        render.grid([current] + [p[0, 0] for p in passes], nrow=6, scale=3),
        output_format="PNG",
        caption=f"{MODELS[key].name}: your digit, then passes 1-5 · PSNR vs your digit: "
        + ", ".join(f"{d:.1f}" for d in drift),
    )
st.markdown("**A non-digit input** shows the prior each model learned: everything is pulled towards digits.")
shape = st.radio("Shape", list(inspect.SHAPES), horizontal=True, key="in_shape")
x_shape = inspect.as_input(inspect.SHAPES[shape]())
outs = [compare.run_model(m, x_shape)[0, 0] for m in models.values()]
st.image(
    render.grid([x_shape[0, 0]] + outs, nrow=len(outs) + 1, scale=4),
    output_format="PNG",
    caption="input, then " + ", ".join(MODELS[k].name for k in models),
)
