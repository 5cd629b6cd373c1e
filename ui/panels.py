"""The playground's output row as one HTML block: inline PNGs need no extra requests, so the row updates at once."""

from __future__ import annotations

import base64
import html
import json

from ae_core import render
from ae_core.compare import Comparison, Panel
from ae_core.preprocess import Steps
from ui.i18n import _, catalog, sentences

# Sent once with the page (ui/frame.setup), not with every row: a <style> element that comes and goes with each slider
# move makes the browser recompute the whole page's styles.
CSS = """
<style>
.ae-row {display: grid; gap: 0.9rem; align-items: start;}
.ae-panel {text-align: center; font-size: 0.92rem;}
.ae-panel img {width: 100%; image-rendering: pixelated; border-radius: 4px; display: block;}
.ae-panel .ae-name {font-weight: 600; margin-bottom: 0.35rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;}
.ae-panel .ae-score {margin-top: 0.3rem; line-height: 1.35; font-variant-numeric: tabular-nums;}
.ae-panel .ae-best {background: #1f6f43; color: #ffffff; font-weight: 700; border-radius: 3px; padding: 0 0.25rem;}
.ae-res-row {margin-top: 0.5rem;}
.ae-res img {width: 100%; image-rendering: pixelated; border-radius: 4px; display: block;}
.ae-panel .ae-pred {margin-top: 0.2rem; font-size: 0.82rem;}
.ae-kind-baseline .ae-name {font-style: italic;}
.ae-verdict {margin-top: 0.6rem; font-size: 0.92rem;}
.ae-note {margin-top: 0.2rem; font-size: 0.875rem;}
</style>
"""


def img_tag(png: bytes, alt: str, cls: str = "") -> str:
    """An <img> with the PNG inline: a row of them redraws in one message, with no image fetch."""
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _score(p: Panel, best: dict[str, str | None]) -> str:
    """The panel's PSNR and SSIM; the best output's score says so in words, not only by colour and a star."""
    out = []
    for metric, text in (("psnr", f"PSNR {p.psnr:.2f} dB"), ("ssim", f"SSIM {p.ssim:.3f}")):
        if best.get(metric) == p.key:
            text = _("★ {score} (best)").format(score=text)
            out.append(f'<span class="ae-best">{html.escape(text)}</span>')
        else:
            out.append(html.escape(text))
    return "<br>".join(out)


def alt_text(p: Panel, feed_clean: bool) -> str:
    """What the panel's image shows, for a screen reader."""
    if p.kind == "input" and p.psnr is None:
        return _("The clean digit")
    if p.kind == "input":
        what = _("The clean input digit") if feed_clean else _("The noisy input digit")
        return _("{what}, PSNR {psnr:.1f} dB against the clean digit").format(what=what, psnr=p.psnr)
    source = _("the clean digit") if feed_clean else _("the noisy digit")
    return _("{name} output for {source}, PSNR {psnr:.1f} dB, SSIM {ssim:.3f}").format(
        name=_(p.name), source=source, psnr=p.psnr, ssim=p.ssim
    )


def verdict(cmp: Comparison) -> str:
    """Which output scored best, in a sentence (the row marks it with colour and a star too)."""
    parts = []
    for metric, fmt in (("psnr", "PSNR {value:.2f} dB"), ("ssim", "SSIM {value:.3f}")):
        key = cmp.best(metric)
        if key is not None:
            p = next(p for p in cmp.panels if p.key == key)
            score = fmt.format(value=getattr(p, metric))
            parts.append(
                _("Best {metric}: {name} ({score}).").format(metric=metric.upper(), name=_(p.name), score=score)
            )
    return sentences(*parts)


def row_html(cmp: Comparison, show_residuals: bool, feed_clean: bool = False) -> str:
    """One grid row: name, image, scores (best highlighted and named) and optionally the residual, for every panel,
    then a sentence naming the best output. Names and alt text are in the reader's language."""
    best = {m: cmp.best(m) for m in ("psnr", "ssim")}
    cells = []
    for p in cmp.panels:
        name = _(p.name)
        parts = [
            f'<div class="ae-name" title="{html.escape(name)}">{html.escape(name)}</div>',
            img_tag(render.gray_png(p.image, 1), alt_text(p, feed_clean)),
        ]
        if p.psnr is not None:
            parts.append(f'<div class="ae-score">{_score(p, best)}</div>')
        if p.label is not None:
            reads = _("reads as {label} ({confidence:.0%})").format(label=p.label, confidence=p.confidence)
            tip = _("What a digit classifier reads")
            parts.append(f'<div class="ae-pred" title="{html.escape(tip)}">{html.escape(reads)}</div>')
        cells.append(f'<div class="ae-panel ae-kind-{p.kind}" data-key="{p.key}">{"".join(parts)}</div>')
    cols = f"grid-template-columns: repeat({len(cells)}, minmax(0, 1fr));"
    row = f'<div class="ae-row" style="{cols}">{"".join(cells)}</div>'
    if show_residuals:  # a row of their own, so each lines up with its panel whatever the scores' height
        res = []
        for p in cmp.panels:
            alt = _("{name} residual: red where it removed ink, blue where it added ink").format(name=_(p.name))
            img = img_tag(render.residual_png(p.residual, 1), alt) if p.residual is not None else ""
            res.append(f'<div class="ae-res">{img}</div>')
        row += f'<div class="ae-row ae-res-row" style="{cols}">{"".join(res)}</div>'
    return f'{row}<p class="ae-verdict">{html.escape(verdict(cmp))}</p>'


def note_html(text: str) -> str:
    """A sentence under the row, in the row's own HTML block (one element less to send on every slider move)."""
    return f'<p class="ae-note">{html.escape(text)}</p>'


def step_pngs(steps: Steps) -> list[tuple[str, bytes]]:
    """The preprocessing panel's images, (title, PNG), each a preview any page can show whatever the upload's shape."""
    shown = ((_("raw"), steps.raw), (_("cropped"), steps.cropped), (_("20 px"), steps.scaled), ("28×28", steps.digit))
    return [(title, render.preview_png(img)) for title, img in shown]


def download_png(cmp: Comparison, lang: str) -> bytes:
    """The output row as one labelled PNG, its names in `lang` (this runs when someone clicks, outside the script run
    that knows the session's language)."""
    return render.labelled_row([p.image for p in cmp.panels], [catalog(lang).gettext(p.name) for p in cmp.panels])


def download_json(cmp: Comparison, what: str) -> str:
    """The scores and settings as JSON; `what` (an upload's file name) is text the user chose, kept as a string."""
    return json.dumps(cmp.to_json() | {"input": str(what)[:200]}, indent=2)
