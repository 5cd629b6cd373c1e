import altair as alt
import pandas as pd
import streamlit as st

from ae_core import render, scoreboard
from ae_core.baselines import BASELINES
from ae_core.config import NOISE_TYPES
from ae_core.infer import run
from ae_core.registry import MODELS
from ui import frame, i18n, insight, server, session
from ui.charts import numbers
from ui.i18n import N_, _, baseline_name, listing, model_name, noise_label, sentences, tr

frame.page(
    N_("Scoreboard"),
    N_(
        "How every model, the noisy input and the classical filters score on the MNIST test set, how they hold up as "
        "the noise grows, which digits they find hard, and whether denoising makes digits recognisable again."
    ),
)

models, origin, shas = session.models_or_errors()
digits = server.test_set()
if not digits.full:
    st.warning(
        _("The full MNIST test set is not available, so these scores use the {source}.").format(
            source=tr(digits.source)
        )
    )
NAMES = {
    **{k: model_name(k) for k in MODELS},
    **{k: baseline_name(k) for k in BASELINES},
    "noisy_input": _("Noisy input"),
    "clean": _("Clean digits"),
}
HIGHLIGHT = "background-color: #1f6f43; color: #ffffff"  # white on dark green: 6.2:1 in either theme


c = st.columns([1, 1.4, 2])
ntype = c[0].selectbox(_("Noise type"), NOISE_TYPES, format_func=noise_label, key="sb_noise")
factor = c[1].select_slider(_("Noise factor"), [round(0.05 * i, 2) for i in range(21)], 0.5, key="sb_factor")
base = c[2].multiselect(
    _("Classical baselines"),
    list(BASELINES),
    ["median"],
    format_func=baseline_name,
    key="sb_baselines",
    help=_("Non-local means and TV take several seconds on 10,000 digits."),
    placeholder=_("Choose baselines"),
)

st.subheader(_("Test set at {noise} {factor:g}").format(noise=noise_label(ntype), factor=factor))
ev = insight.table(models, shas, ntype, factor, base, digits, _("Scoring {n:,} test digits…").format(n=len(digits)))
summary = ev.summary()
NAME_COL = _("denoiser")
df = pd.DataFrame(
    [
        {NAME_COL: NAMES[r], "BCE": s["bce"], "MSE": s["mse"], "PSNR (dB)": s["psnr"], "SSIM": s["ssim"]}
        for r, s in summary.items()
    ]
)
st.dataframe(
    df.style.highlight_max(["PSNR (dB)", "SSIM"], props=HIGHLIGHT)
    .highlight_min(["BCE", "MSE"], props=HIGHLIGHT)
    .format({"BCE": "{:.4f}", "MSE": "{:.4f}", "PSNR (dB)": "{:.2f}", "SSIM": "{:.3f}"}),
    hide_index=True,
    width="stretch",
)
scored = {r: s for r, s in summary.items() if r != "noisy_input"}
if scored:
    top_psnr = max(scored, key=lambda r: scored[r]["psnr"])
    top_ssim = max(scored, key=lambda r: scored[r]["ssim"])
    st.markdown(
        sentences(
            _("Best PSNR: {name} ({score}).").format(name=NAMES[top_psnr], score=f"{scored[top_psnr]['psnr']:.2f} dB"),
            _("Best SSIM: {name} ({score}).").format(name=NAMES[top_ssim], score=f"{scored[top_ssim]['ssim']:.3f}"),
        )
    )  # the highlight in words, not only by colour
st.caption(
    _("n = {n:,}, noise seed 0, the same numbers as {command}. Weights: {weights}.").format(
        n=ev.n,
        command=f"python -m ae_core.evaluate --noise-type {ntype} --noise-factor {factor:g}"
        + (" --baselines " + " ".join(base) if base else ""),
        weights=listing(f"{model_name(k)} = {origin[k]}" for k in models),
    )
    + i18n.gap()
    + _(
        "PSNR: peak signal-to-noise ratio in dB, higher is better. SSIM: structural similarity, up to 1. BCE: binary "
        "cross-entropy, the training loss. MSE: mean squared error."
    )
)

st.subheader(_("Robustness: quality as the noise grows"))
sub = server.subset()
clf = server.digit_classifier()
curve_prec = server.curve_precision()
curves = server.cached(
    *insight.sweep_job(models, shas, ntype, base, sub, clf, curve_prec),
    _("Sweeping noise 0 → 1 on {n:,} digits…").format(n=len(sub)),
)
cf = pd.DataFrame(curves)
cf["name"] = cf["row"].map(NAMES)
rule = (
    alt.Chart(pd.DataFrame({"factor": [scoreboard.TRAINING_FACTOR]}))
    .mark_rule(strokeDash=[4, 4], color="#aaa", aria=False)
    .encode(x="factor:Q")
)


def quiet(chart):
    """A chart with one text alternative (st.altair_chart's alt=) and its numbers in a table below it: Vega's own
    per-mark descriptions (field names and scale types, always in English) are turned off."""
    return chart.configure(aria=False)


def curve(metric: str, title: str):
    data = cf.dropna(subset=[metric])
    # An exact copy scores 100 dB (the cap); keep the interesting range in view.
    scale = alt.Scale(domain=[0, 40], clamp=True) if metric == "psnr" else alt.Scale(zero=False)
    line = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(aria=False), aria=False)
        .encode(
            x=alt.X("factor:Q", title=_("noise factor")),
            y=alt.Y(f"{metric}:Q", title=title, scale=scale),
            color=alt.Color("name:N", title=None),
            tooltip=[
                alt.Tooltip("name", title=NAME_COL),
                alt.Tooltip("factor", title=_("noise factor")),
                alt.Tooltip(f"{metric}:Q", format=".3f", title=title),
            ],
        )
    )
    return (line + rule).properties(height=300)


def curve_table(metric: str, title: str, fmt: str) -> pd.DataFrame:
    """One row per denoiser, one column per noise factor: the curve's points."""
    data = cf.dropna(subset=[metric]).pivot_table(index="name", columns="factor", values=metric, sort=False)
    data.columns = [f"{v:g}" for v in data.columns]
    return data.map(lambda v: format(v, fmt)).reset_index().rename(columns={"name": f"{title} / {_('noise factor')}"})


left, right = st.columns(2)
left.altair_chart(
    quiet(curve("psnr", "PSNR (dB)")),
    width="stretch",
    alt=_("Line chart: PSNR of each denoiser as the noise factor grows"),
)
right.altair_chart(
    quiet(curve("ssim", "SSIM")), width="stretch", alt=_("Line chart: SSIM of each denoiser as the noise factor grows")
)
numbers(curve_table("psnr", "PSNR (dB)", ".2f"), _("the PSNR curves"))
numbers(curve_table("ssim", "SSIM", ".3f"), _("the SSIM curves"))
st.caption(
    _("On {source}. The dashed line marks the training noise level ({level}).").format(
        source=tr(sub.source), level=scoreboard.TRAINING_FACTOR
    )
    + (
        i18n.gap()
        + _(
            "The networks run in bf16 for these curves (this CPU does it natively; within 0.01 dB of fp32), the "
            "table above in fp32."
        )
        if curve_prec == "bf16"
        else ""
    )
)

st.subheader(_("Does denoising restore recognisability?"))
if clf is None:
    st.info(
        _("The digit classifier's weights (weights/digit_cnn.json) are missing; run `python -m ae_core.classifier`.")
    )
else:
    accuracy = _("classifier accuracy")
    st.altair_chart(
        quiet(curve("accuracy", accuracy).properties(height=320)),
        width="stretch",
        alt=_("Line chart: how often a digit classifier reads each denoiser's output right, as the noise grows"),
    )
    numbers(curve_table("accuracy", accuracy, ".1%"), _("the accuracy curves"))
    st.caption(
        _(
            "A LeNet-sized CNN trained on clean digits ({accuracy:.2%} on the clean test set) reads the noisy and the "
            "denoised digits."
        ).format(accuracy=clf[0].get("test_accuracy", 0))
    )

st.subheader(_("Per-class PSNR"))
pc = scoreboard.per_class(ev)
pcf = pd.DataFrame(
    [{"digit": str(d), "name": NAMES[row], "PSNR": v} for row, vals in pc.items() for d, v in enumerate(vals)]
)
st.altair_chart(
    quiet(
        alt.Chart(pcf)
        .mark_bar(aria=False)
        .encode(
            x=alt.X("digit:N", title=_("digit")),
            xOffset="name:N",
            y=alt.Y("PSNR:Q", title="PSNR (dB)"),
            color=alt.Color("name:N", title=None),
            tooltip=[
                alt.Tooltip("name", title=NAME_COL),
                alt.Tooltip("digit", title=_("digit")),
                alt.Tooltip("PSNR:Q", format=".2f"),
            ],
        )
        .properties(height=280)
    ),
    width="stretch",
    alt=_("Bar chart: mean PSNR of each denoiser on each digit class 0-9"),
)
per_class = pcf.pivot_table(index="name", columns="digit", values="PSNR", sort=False).map(lambda v: f"{v:.2f}")
numbers(per_class.reset_index().rename(columns={"name": f"PSNR (dB) / {_('digit')}"}), _("the per-class PSNR"))

st.subheader(_("Best and worst 8 digits"))
row = st.selectbox(_("For"), [*models, *base], format_func=NAMES.get, key="sb_bw")
best, worst = scoreboard.best_worst(ev, row)
full_clean, full_noisy = server.cached(*insight.noisy_job(ntype, factor, digits), _("Preparing digits…"))
for title, idx in ((N_("Best 8 for {name}"), best), (N_("Worst 8 for {name}"), worst)):
    noisy = full_noisy[idx]  # the very noise the table scored
    out = run(models[row], noisy)[0] if row in models else scoreboard.denoisers({}, [row])[row](noisy)
    psnrs = ", ".join(f"{v:.1f}" for v in ev.scores[row]["psnr"][idx].tolist())
    heading = _(title).format(name=NAMES[row])
    st.image(
        render.grid(list(full_clean[idx][:, 0]) + list(noisy[:, 0]) + list(out[:, 0]), nrow=8, scale=3),
        output_format="PNG",
        caption=_("{heading} (rows: clean, noisy, output). PSNR: {psnrs}").format(heading=heading, psnrs=psnrs),
        alt=_("{heading}: three rows of 8 digits, clean, noisy and the output; PSNR {psnrs} dB").format(
            heading=heading, psnrs=psnrs
        ),
    )

st.subheader(_("Train/test noise matrix"))
rows = insight.matrix_rows(models, shas)
mf = st.select_slider(_("Test noise factor"), [round(0.1 * i, 1) for i in range(1, 11)], 0.5, key="sb_mf")
matrix = server.cached(*insight.matrix_job(rows, mf, sub, curve_prec), _("Scoring each denoiser on each noise type…"))
st.dataframe(
    pd.DataFrame(matrix)
    .T.rename(index=dict(zip(map(str, range(len(rows))), rows, strict=True)), columns=noise_label)
    .style.format("{:.2f} dB")
    .highlight_max(axis=1, props=HIGHLIGHT),
    width="stretch",
)
st.caption(
    _("Mean PSNR on each test noise type. Train runs on other noise types on the Train page to fill in more rows.")
)
