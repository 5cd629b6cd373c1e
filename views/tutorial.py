import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
import torch
from streamlit.errors import StreamlitAPIException

from ae_core import inspect, metrics, render
from ae_core.compare import noisy_digit
from ae_core.infer import run
from ae_core.messages import Message
from ae_core.models import BasicAE, ConvDAE
from ae_core.noise import gaussian
from ae_core.registry import count_params
from ui import charts, frame, insight, lesson, server, session, text
from ui import tutorial as tut
from ui.i18n import N_, _, model_name, tr, url_param

frame.page(
    N_("Tutorial"),
    N_(
        "The article ae-lab started from, live: a plain autoencoder first, then a convolutional one that removes "
        "noise. Each step has one thing to try, and its figure is drawn by the real models."
    ),
    lesson_url=False,
)

models, origin, shas = session.models_or_errors()
digits = server.test_set()
ss = st.session_state
session.keep(*tut.KEYS)  # each step's setting survives the other steps, whose runs do not draw its widget
LAST = len(digits) - 1
N = len(tut.STEPS)

if "tu_step" not in ss:  # the session's first visit: the step from the URL (a shared link, a lesson, a refresh)
    ss.tu_step, notice = tut.parse_step(st.query_params.get(tut.PARAM))
    if notice:
        st.toast(text.plain(tr(notice), 300), icon="⚠️")  # quotes the URL: plain text, never a link
step = ss.tu_step
want = lesson.query() | url_param() | {tut.PARAM: tut.SLUGS[step]}
if st.query_params.to_dict() != want:
    st.query_params.from_dict(want)  # the address bar carries the step: leave, come back, share
session.put("tu_pick", step)  # not on every run: see session.put
st.selectbox(
    _("Step"),
    range(N),
    format_func=lambda i: _("{n} of {total}: {title}").format(n=i + 1, total=N, title=_(tut.STEPS[i][1])),
    key="tu_pick",
    on_change=lambda: tut.go(ss.tu_pick),
)
st.header(_(tut.STEPS[step][1]), divider="gray")


def img(a, scale: int = 8) -> bytes:
    return render.gray_png(np.asarray(a, np.float32), scale)


def missing(key: str) -> None:
    st.info(_("{model}'s weights are not available here, so this step has no figure.").format(model=model_name(key)))


def index(key: str, default: int = 0, last: int = LAST) -> int:
    """A test digit's index from this session's state, whatever arrived there, within 0..last."""
    try:
        v = int(ss.get(key, default))
    except (TypeError, ValueError, OverflowError):
        v = default
    return min(max(v, 0), last)


def digit_picker(key: str, label: str, default: int = 0, last: int = LAST) -> int:
    session.put(key, index(key, default, last))  # only a value it may not take is replaced
    return int(st.number_input(label, 0, last, key=key))


def choose(key: str, options: list, default) -> None:
    """Start a control at its default, and bring back any value it may not take (a crafted message, weights with
    other layers): the widget then needs no value of its own."""
    if ss.get(key) not in options:
        ss[key] = default


def noise_factor() -> float:
    """The noise step's factor: the learner's slider, or the article's 0.5 where a lesson fixed the noise."""
    if lesson.hidden("factor"):
        return tut.ARTICLE_FACTOR
    f = ss.get("tu_factor", tut.ARTICLE_FACTOR)
    return f if f in tut.FACTORS else tut.ARTICLE_FACTOR


def code_block(obj) -> None:
    st.code(tut.source(obj), language="python")


def op_text(op: str) -> str:
    """A layer's operation in the reader's language ("ReLU" stays: a technical term)."""
    return tr(op) if isinstance(op, Message) else _(op)


def layer_table(rows) -> None:
    """The layers as a Markdown table: HTML a screen reader can walk, with each step's name from the code as code."""
    head = [_("step"), _("operation"), _("output (H×W×C)"), _("parameters")]
    lines = ["| " + " | ".join(head) + " |", "|:--|:--|:--|--:|"]
    lines += [f"| `{r.name}` | {op_text(r.op)} | {r.shape_text} | {r.params:,} |" for r in rows]
    st.markdown("\n".join(lines))


def maps_figure(layer, out: torch.Tensor, model: str) -> None:
    n = min(out.shape[0], 32)
    what = f"{op_text(layer.op)}, {layer.shape_text}"
    if n < out.shape[0]:
        what += " " + _("(first {n} of {total})").format(n=n, total=out.shape[0])
    st.image(
        render.grid(tut.scaled(out[:n]), nrow=8, scale=max(2, 56 // out.shape[-1])),
        output_format="PNG",
        caption=what,
        alt=_("{model}'s outputs at {layer}: {n} channels as grey tiles").format(model=model, layer=what, n=n),
    )


# --- the steps ------------------------------------------------------------------------------------------------------


def step_data() -> None:
    st.markdown(
        _(
            "MNIST holds 70,000 handwritten digits, each a 28×28 grid of grey levels between 0 (background) and 1 "
            "(ink). A network like the one in part one does not see a picture: it sees those 784 numbers in a row, "
            "the 28 rows of the image laid end to end."
        )
    )
    i = digit_picker("tu_digit", _("Test digit (0-{last})").format(last=LAST))
    x = digits.images[i].float().numpy() / 255  # (28, 28)
    label = int(digits.labels[i])
    left, right = st.columns([1, 3])
    left.image(
        img(x),
        caption=_("Test digit #{i}: a {label}").format(i=i, label=label),
        output_format="PNG",
        alt=_("Test digit #{i}, a handwritten {label}, drawn 28×28").format(i=i, label=label),
    )
    nonzero = int((x > 0).sum())
    left.markdown(
        _("{n} of its 784 numbers are above 0; the largest is {top:.2f}.").format(n=nonzero, top=float(x.max()))
    )
    cols = [str(c) for c in range(28)]
    right.dataframe(  # two decimals by column format: a Styler would cost each rerun 0.1 s
        pd.DataFrame(x.round(2), columns=cols),
        height=460,
        width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.2f") for c in cols},
    )
    right.caption(_("The same digit as its 784 numbers: row r, column c is pixel number 28·r + c of the vector."))


def step_network() -> None:
    st.markdown(
        _(
            "The first autoencoder has three layers: 784 inputs, a hidden layer of 64 units with a "
            "ReLU, and 784 outputs. The encoder squeezes a digit into 64 numbers, its code; the decoder has to "
            "rebuild all 784 from them. Training makes the output match the input, so whatever the code keeps is "
            "what matters most about a digit."
        )
    )
    if "basic_ae" not in models:
        return missing("basic_ae")
    m = models["basic_ae"]
    layer_table(inspect.architecture(m))
    st.caption(
        _(
            "Shapes from the live model: {hidden} hidden units, {params:,} parameters. The output's 784 numbers are "
            "logits; a sigmoid turns them into grey levels between 0 and 1."
        ).format(hidden=m.encoder.out_features, params=count_params(m))
    )
    with st.expander(_("The PyTorch code the app runs"), expanded=False):
        code_block(BasicAE)
    which = st.radio(
        _("Show the weights of"),
        ["encoder", "decoder"],
        format_func=lambda k: _("the encoder (784→64)") if k == "encoder" else _("the decoder (64→784)"),
        horizontal=True,
        key="tu_layer",
    )
    if which == "encoder":
        tiles = inspect.dense_filters(m)  # (64, 28, 28): what each hidden unit looks for
        caption = _("Each hidden unit's 784 input weights as a 28×28 tile: the pattern that unit responds to.")
    else:
        w = m.decoder.weight.detach().T.reshape(-1, 28, 28)  # (64, 28, 28): what each unit adds to the output
        tiles = tut.scaled(w)
        caption = _("Each hidden unit's 784 output weights as a 28×28 tile: the strokes that unit draws.")
    st.image(
        render.grid(list(tiles), nrow=16, scale=2),
        output_format="PNG",
        caption=caption,
        alt=_("64 grey 28×28 tiles: the Basic AE's encoder weights")
        if which == "encoder"
        else _("64 grey 28×28 tiles: the Basic AE's decoder weights"),
    )


def step_training() -> None:
    st.markdown(
        _(
            "Training shows the network batches of digits and nudges every weight to lower the loss: the binary "
            "cross-entropy between its output and the input. One epoch is one pass over the 60,000 training digits."
        )
    )
    sidecar = server.sidecar_of("basic_ae") or {}
    history, cfg = tut.mapping(sidecar.get("history")), tut.mapping(sidecar.get("config"))  # a sidecar is a file
    raw = history.get("train_loss")
    losses = [float(v) for v in raw if isinstance(v, int | float) and v == v] if isinstance(raw, list) else []
    if not losses:
        return missing("basic_ae")
    choose("tu_epoch", list(range(1, len(losses) + 1)), len(losses))
    e = st.slider(_("Epoch"), 1, len(losses), key="tu_epoch")
    df = pd.DataFrame({"epoch": range(1, len(losses) + 1), "loss": losses})
    line = (
        alt.Chart(df)
        .mark_line(aria=False)
        .encode(
            x=alt.X("epoch:Q", title=_("epoch")),
            y=alt.Y("loss:Q", title=_("training loss (BCE)"), scale=alt.Scale(zero=False)),
        )
    )
    dot = (
        alt.Chart(df[df.epoch == e])
        .mark_point(size=120, filled=True, color="#e4572e", aria=False)
        .encode(x="epoch:Q", y="loss:Q")
    )
    st.altair_chart(
        (line + dot).properties(height=260).configure(aria=False),
        width="stretch",
        alt=_("Line chart: the Basic AE's training loss for each of its {n} epochs, epoch {e} marked").format(
            n=len(losses), e=e
        ),
    )
    st.markdown(
        _("After epoch {e}, the mean training loss was **{loss:.4f}**, {share:.0%} of the first epoch's.").format(
            e=e, loss=losses[e - 1], share=losses[e - 1] / losses[0]
        )
    )
    st.caption(
        _(
            "The shipped weights' own record: {epochs} epochs, batch {batch}, Adam at learning rate {lr} "
            "({schedule}). The article trains with a constant rate; ae-lab's recipe ends lower in the same epochs."
        ).format(
            epochs=len(losses),
            batch=tut.number(cfg.get("batch_size")),
            lr=tut.number(cfg.get("lr")),
            schedule={"constant": _("constant"), "onecycle": _("one-cycle"), "cosine": _("cosine")}.get(
                cfg.get("schedule"), "?"
            ),
        )
    )
    charts.numbers(df.rename(columns={"epoch": _("epoch"), "loss": _("training loss (BCE)")}), _("the loss curve"))


def eight(key: str) -> tuple[int, torch.Tensor]:
    last = max(LAST - 7, 0)
    start = digit_picker(key, _("First of eight test digits (0-{last})").format(last=last), last=last)
    return start, digits.batch(slice(start, start + 8))  # (8, 1, 28, 28)


def step_codes() -> None:
    st.markdown(
        _(
            "Top row: eight test digits the network never trained on. Middle row: what it rebuilds from each one's "
            "code, and bottom row: the code itself, 64 numbers drawn as an 8×8 square. The code is not a small "
            "picture of the digit; it is a description that only the decoder can read."
        )
    )
    if "basic_ae" not in models:
        return missing("basic_ae")
    m = models["basic_ae"]
    start, x = eight("tu_start")
    out = run(m, x)[0]
    codes = inspect.codes(m, x)  # (8, 64)
    shown = (codes / codes.amax(1, keepdim=True).clamp_min(1e-8)).reshape(8, 8, 8).numpy()
    psnr = metrics.psnr(x, out)
    st.image(
        render.grid(list(x[:, 0]) + list(out[:, 0]), nrow=8, scale=3),
        output_format="PNG",
        caption=_("Test digits #{a}-#{b} and their reconstructions. PSNR: {psnrs} dB").format(
            a=start, b=start + 7, psnrs=", ".join(f"{v:.1f}" for v in psnr.tolist())
        ),
        alt=_("Two rows of 8 digits: test digits #{a} to #{b}, and the Basic AE's reconstructions of them").format(
            a=start, b=start + 7
        ),
    )
    st.image(
        render.grid(list(shown), nrow=8, scale=10, pad=1),
        output_format="PNG",
        caption=_("Their 64-unit codes as 8×8 squares (brighter: a larger value; black: the ReLU gave 0)."),
        alt=_("Eight 8×8 grey squares: the Basic AE's codes for test digits #{a} to #{b}").format(a=start, b=start + 7),
    )
    zero = float((codes == 0).float().mean())
    st.markdown(
        _(
            "On average {zero:.0%} of a code's 64 units are exactly 0 for these digits: the ReLU switched them off."
        ).format(zero=zero)
    )


def step_hidden() -> None:
    st.markdown(
        _(
            "Why 64? The article chose it and suggests trying other sizes: a smaller hidden layer loses more. Here are "
            "Basic AEs with codes of 2 to 128 units, each trained with the same short recipe, so only the size "
            "differs. Move the slider and watch strokes, then whole digits, disappear."
        )
    )
    found = server.code_sizes()
    if found is None:
        st.info(
            _("The saved code sizes (weights/code_sizes.safetensors) are missing; run `python -m ae_core.codesize`.")
        )
        return
    sizes = sorted(found.models)
    choose("tu_size", sizes, 64)
    h = st.select_slider(_("Hidden units"), sizes, key="tu_size")
    start = index("tu_start", last=max(LAST - 7, 0))  # the eight digits of the step before
    x = digits.batch(slice(start, start + 8))  # (8, 1, 28, 28)
    out = run(found.models[h], x)[0]
    st.image(
        render.grid(list(x[:, 0]) + list(out[:, 0]), nrow=8, scale=3),
        output_format="PNG",
        caption=_("Test digits #{a}-#{b} and their reconstructions from {h} hidden units").format(
            a=start, b=start + 7, h=h
        ),
        alt=_("Two rows of 8 digits: test digits #{a} to #{b}, and a {h}-unit autoencoder's reconstructions").format(
            a=start, b=start + 7, h=h
        ),
    )
    s = found.scores[h]
    st.markdown(
        _(
            "With {h} units the code is {ratio:g}× smaller than the digit. On all {n:,} MNIST test digits: PSNR "
            "**{psnr:.2f} dB**, SSIM **{ssim:.3f}**."
        ).format(h=h, ratio=round(784 / h, 1), n=10_000, psnr=s["psnr"], ssim=s["ssim"])
    )
    df = pd.DataFrame({"units": sizes, "psnr": [found.scores[k]["psnr"] for k in sizes]})
    line = (
        alt.Chart(df)
        .mark_line(point=alt.OverlayMarkDef(aria=False), aria=False)
        .encode(
            x=alt.X("units:Q", title=_("hidden units"), scale=alt.Scale(type="log", base=2)),
            y=alt.Y("psnr:Q", title="PSNR (dB)", scale=alt.Scale(zero=False)),
        )
    )
    dot = (
        alt.Chart(df[df.units == h])
        .mark_point(size=160, filled=True, color="#e4572e", aria=False)
        .encode(x="units:Q", y="psnr:Q")
    )
    st.altair_chart(
        (line + dot).properties(height=240).configure(aria=False),
        width="stretch",
        alt=_("Line chart: test-set PSNR for each hidden-layer size from 2 to 128 units, {h} marked").format(h=h),
    )
    table = pd.DataFrame(
        [
            {
                _("hidden units"): k,
                "PSNR (dB)": f"{found.scores[k]['psnr']:.2f}",
                "SSIM": f"{found.scores[k]['ssim']:.3f}",
            }
            for k in sizes
        ]
    )
    charts.numbers(table, _("the code sizes"))
    r = found.recipe
    st.caption(
        _(
            "Each size: {epochs} epochs on the 60,000 training digits, learning rate {lr:g}, seed {seed} "
            "(`python -m ae_core.codesize`). The shipped Basic AE (64 units) trained longer, so it scores higher."
        ).format(epochs=r.get("epochs", "?"), lr=float(r.get("lr", 0) or 0), seed=r.get("seed", 0))
    )
    if not lesson.hidden("retrain"):
        tut.page_link(
            "views/train.py",
            _("Train a Basic AE yourself on the Train page"),
            ":material/model_training:",
            url_param() or None,
        )


def step_noise() -> None:
    st.markdown(
        _(
            "Part two teaches denoising. During training each input digit gets noise: every pixel moves by the "
            "noise factor times a random number from a normal distribution, then is clipped back to 0-1. The target "
            "stays the clean digit. A network that can only copy would copy the noise too and score badly; to do "
            "well it must learn what digits look like."
        )
    )
    if lesson.hidden("factor"):
        st.caption(_("Noise factor: {factor:g} (set by the lesson).").format(factor=tut.ARTICLE_FACTOR))
    else:
        choose("tu_factor", tut.FACTORS, tut.ARTICLE_FACTOR)
        st.select_slider(_("Noise factor"), tut.FACTORS, key="tu_factor")
    f = noise_factor()
    i = index("tu_digit")
    clean = digits.images[i].float().numpy() / 255
    noisy = noisy_digit(clean, "gaussian", f, 0)
    cols = st.columns(3)
    cols[0].image(
        img(noisy),
        caption=_("input: noisy"),
        output_format="PNG",
        alt=_("Test digit #{i} with Gaussian noise at {factor:g}").format(i=i, factor=f),
    )
    cols[1].image(
        img(clean), caption=_("target: clean"), output_format="PNG", alt=_("Test digit #{i}, clean").format(i=i)
    )
    x = torch.from_numpy(noisy).reshape(1, 1, 28, 28)
    ref = torch.from_numpy(clean).reshape(1, 1, 28, 28)
    psnr_in = float(metrics.psnr(ref, x)[0])
    if "dense_dae" in models:
        out = run(models["dense_dae"], x)[0]
        cols[2].image(
            img(out[0, 0]),
            caption=_("{model}'s output").format(model=model_name("dense_dae")),
            output_format="PNG",
            alt=_("The Dense DAE's output for the noisy digit"),
        )
        st.markdown(
            _("Noisy input: PSNR {a:.2f} dB against the clean digit. {model}'s output: {b:.2f} dB.").format(
                a=psnr_in, model=model_name("dense_dae"), b=float(metrics.psnr(ref, out)[0])
            )
        )
    st.markdown(_("The noise, as the app adds it (ae_core/noise.py):"))
    code_block(gaussian)


def conv_half(part: int, key: str, start: int, code) -> None:
    """One half of the Conv DAE (0: the encoder, 1: the decoder) for the noisy digit of the steps before: its layers
    from the live model, the maps of the layer picked with the slider `key`, and the code the app runs."""
    if "conv_dae" not in models:
        return missing("conv_dae")
    f, i = noise_factor(), index("tu_digit")
    x = inspect.as_input(noisy_digit(digits.images[i].float().numpy() / 255, "gaussian", f, 0))
    steps = tut.conv_steps(models["conv_dae"], x)[part]
    layer_table([layer for layer, _o in steps])
    names = [layer.name for layer, _o in steps]
    shapes = {layer.name: f"{n + 1}. {op_text(layer.op)} · {layer.shape_text}" for n, (layer, _o) in enumerate(steps)}
    choose(key, names, names[start])
    pick = st.select_slider(_("Look at the output of"), names, key=key, format_func=shapes.get)
    layer, out = steps[names.index(pick)]
    maps_figure(layer, torch.sigmoid(out) if layer.name == "out" else out, model_name("conv_dae"))
    st.caption(_("For test digit #{i} with Gaussian noise at {factor:g}.").format(i=i, factor=f))
    with st.expander(_("The PyTorch code the app runs"), expanded=False):
        code_block(code)


def step_encoder() -> None:
    st.markdown(
        _(
            "The convolutional denoising autoencoder keeps the digit as an image. Each convolution slides 3×3 "
            "filters over it: 64, then 64, then 32 of them, with `same` padding, so height and width stay. After "
            "each, a 2×2 max pooling halves them: 28 → 14 → 7 → 4. The 4×4×32 result is the code, this "
            "network's hidden layer."
        )
    )
    conv_half(0, "tu_enc", 1, ConvDAE.encode)


def step_decoder() -> None:
    st.markdown(
        _(
            "Why not keep convolving the 4×4×32 code? Convolutions and pooling only keep or shrink the size, and the "
            "output must be 28×28 again. A transposed convolution could grow it, but its overlapping strides tend "
            "to paint checkerboard patterns. So the decoder upsamples first: nearest-neighbour resizing "
            "copies each value into a larger grid (4 → 7 → 14 → 28), then a 3×3 convolution learns to turn the "
            "blocky copy into strokes. A last convolution makes one 28×28 channel."
        )
    )
    conv_half(1, "tu_dec", 0, ConvDAE.decode)


def step_results() -> None:
    st.markdown(
        _(
            "At the article's noise factor, 0.5, which denoises better: the dense 784-32-784 network trained on the "
            "same noisy-to-clean task, or the convolutional one? Scores on all {n:,} test digits, each with its own "
            "noise (seed 0), the same numbers as the Scoreboard and `python -m ae_core.evaluate`."
        ).format(n=len(digits))
    )
    pair = [k for k in ("dense_dae", "conv_dae") if k in models]
    if not pair:
        return missing("conv_dae")
    ev = insight.table(
        models,
        shas,
        "gaussian",
        tut.ARTICLE_FACTOR,
        ["median"],
        digits,
        _("Scoring {n:,} test digits…").format(n=len(digits)),
    )
    summary = ev.summary()
    rows = ["noisy_input", *pair]
    name = {"noisy_input": _("Noisy input"), **{k: model_name(k) for k in pair}}
    st.table(
        pd.DataFrame(
            [
                {_("denoiser"): name[r], "PSNR (dB)": f"{summary[r]['psnr']:.2f}", "SSIM": f"{summary[r]['ssim']:.3f}"}
                for r in rows
            ]
        ).set_index(_("denoiser"))
    )
    i = digit_picker("tu_test", _("Test digit (0-{last})").format(last=LAST), index("tu_digit"))
    clean_all, noisy_all = server.cached(
        *insight.noisy_job("gaussian", tut.ARTICLE_FACTOR, digits), _("Preparing digits…"), heavy=False
    )
    noisy = noisy_all[i : i + 1]  # the very noise the table scored
    cols = st.columns(2 + len(pair))
    cols[0].image(
        img(clean_all[i, 0]), caption=_("clean"), output_format="PNG", alt=_("Test digit #{i}, clean").format(i=i)
    )
    cols[1].image(
        img(noisy[0, 0]),
        caption=_("noisy: {psnr:.2f} dB").format(psnr=float(ev.scores["noisy_input"]["psnr"][i])),
        output_format="PNG",
        alt=_("Test digit #{i} with Gaussian noise at {factor:g}").format(i=i, factor=tut.ARTICLE_FACTOR),
    )
    for col, k in zip(cols[2:], pair, strict=True):
        out = run(models[k], noisy)[0]
        p, s = float(ev.scores[k]["psnr"][i]), float(ev.scores[k]["ssim"][i])
        col.image(
            img(out[0, 0]),
            caption=_("{model}: {psnr:.2f} dB, SSIM {ssim:.3f}").format(model=model_name(k), psnr=p, ssim=s),
            output_format="PNG",
            alt=_("{model}'s output for test digit #{i}: PSNR {psnr:.2f} dB, SSIM {ssim:.3f}").format(
                model=model_name(k), i=i, psnr=p, ssim=s
            ),
        )
    if len(pair) == 2:
        d, c = summary["dense_dae"], summary["conv_dae"]
        st.markdown(
            _(
                "On the test set the Conv DAE scores {dp:+.2f} dB PSNR and {ds:+.3f} SSIM against the Dense DAE. Its "
                "local filters keep strokes sharp; the dense network's 32 numbers keep only a blurry gist."
            ).format(dp=c["psnr"] - d["psnr"], ds=c["ssim"] - d["ssim"])
        )


def step_next() -> None:
    st.markdown(_("You have walked both parts of the article. Each page below goes further, starting from here."))
    i = index("tu_test", index("tu_digit"))
    f = noise_factor()
    st.markdown(
        _("**Playground**: test digit #{i} with Gaussian noise at {factor:g}, every model side by side.").format(
            i=i, factor=f
        )
    )
    if st.button(_("Open the Playground with this digit"), key="tu_to_playground", icon=":material/draw:"):
        query = tut.to_playground(i, f)
        try:
            st.switch_page("views/playground.py", query_params=query)
        except StreamlitAPIException:  # a page run on its own (AppTest) has no other pages
            st.query_params.from_dict(query)
    tut.page_link(
        "views/scoreboard.py",
        _("Scoreboard: every model on the test set, as the noise grows"),
        ":material/leaderboard:",
        url_param() or None,
    )
    tut.page_link(
        "views/inside.py",
        _("Inside the models: layers, filters, feature maps and code space"),
        ":material/neurology:",
        url_param() or None,
    )
    tut.page_link(
        "views/explorer.py",
        _("Explore the code space: walk between digits and move one unit at a time"),
        ":material/explore:",
        url_param() or None,
    )
    if not lesson.hidden("retrain"):
        tut.page_link(
            "views/train.py",
            _("Train: your own run, with the article's recipe or ae-lab's"),
            ":material/model_training:",
            url_param() or None,
        )


STEP_VIEWS = {
    "data": step_data,
    "network": step_network,
    "training": step_training,
    "codes": step_codes,
    "hidden": step_hidden,
    "noise": step_noise,
    "encoder": step_encoder,
    "decoder": step_decoder,
    "results": step_results,
    "next": step_next,
}
STEP_VIEWS[tut.SLUGS[step]]()
session.remember(*tut.KEYS)

st.divider()
prev, _gap, nxt = st.columns([1, 2, 1])
prev.button(_("← Previous"), key="tu_prev", on_click=tut.go, args=(step - 1,), disabled=step == 0, width="stretch")
nxt.button(
    _("Next →"),
    key="tu_next",
    on_click=tut.go,
    args=(step + 1,),
    disabled=step == N - 1,
    width="stretch",
    type="primary",
)
