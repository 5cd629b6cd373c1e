"""The playground's output row as one HTML block: inline PNGs need no extra requests, so the row updates at once."""

from __future__ import annotations

import base64
import html
import json

from ae_core import render
from ae_core.compare import Comparison, Panel
from ae_core.preprocess import Steps

CSS = """
<style>
.ae-row {display: grid; gap: 0.9rem; align-items: start;}
.ae-panel {text-align: center; font-size: 0.92rem;}
.ae-panel img {width: 100%; image-rendering: pixelated; border-radius: 4px; display: block;}
.ae-panel .ae-name {font-weight: 600; margin-bottom: 0.35rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;}
.ae-panel .ae-score {margin-top: 0.3rem; line-height: 1.35; font-variant-numeric: tabular-nums;}
.ae-panel .ae-best {color: #3dd56d; font-weight: 700;}
.ae-panel .ae-res {margin-top: 0.4rem;}
.ae-panel .ae-pred {margin-top: 0.2rem; font-size: 0.82rem; opacity: 0.85;}
.ae-kind-baseline .ae-name {font-style: italic;}
</style>
"""


def img_tag(png: bytes, alt: str, cls: str = "") -> str:
    """An <img> with the PNG inline: a row of them redraws in one message, with no image fetch."""
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _score(p: Panel, best: dict[str, str | None]) -> str:
    out = []
    for metric, text in (("psnr", f"PSNR {p.psnr:.2f} dB"), ("ssim", f"SSIM {p.ssim:.3f}")):
        out.append(f'<span class="ae-best">★ {text}</span>' if best.get(metric) == p.key else text)
    return "<br>".join(out)


def row_html(cmp: Comparison, show_residuals: bool) -> str:
    """One grid row: name, image, scores (best highlighted) and optionally the residual, for every panel."""
    best = {m: cmp.best(m) for m in ("psnr", "ssim")}
    cells = []
    for p in cmp.panels:
        parts = [
            f'<div class="ae-name" title="{html.escape(p.name)}">{html.escape(p.name)}</div>',
            img_tag(render.gray_png(p.image, 1), p.name),
        ]
        if p.psnr is not None:
            parts.append(f'<div class="ae-score">{_score(p, best)}</div>')
        if p.label is not None:
            parts.append(
                f'<div class="ae-pred" title="What a digit classifier reads">reads as <b>{p.label}</b> '
                f"({p.confidence:.0%})</div>"
            )
        if show_residuals and p.residual is not None:
            parts.append(
                f'<div class="ae-res">{img_tag(render.residual_png(p.residual, 1), p.name + " residual")}</div>'
            )
        cells.append(f'<div class="ae-panel ae-kind-{p.kind}" data-key="{p.key}">{"".join(parts)}</div>')
    cols = f"grid-template-columns: repeat({len(cells)}, minmax(0, 1fr));"
    return f'{CSS}<div class="ae-row" style="{cols}">{"".join(cells)}</div>'


def step_pngs(steps: Steps) -> list[tuple[str, bytes]]:
    """The preprocessing panel's images, (title, PNG), each a preview any page can show whatever the upload's shape."""
    shown = (("raw", steps.raw), ("cropped", steps.cropped), ("20 px", steps.scaled), ("28×28", steps.digit))
    return [(title, render.preview_png(img)) for title, img in shown]


def download_png(cmp: Comparison) -> bytes:
    """The output row as one labelled PNG."""
    return render.labelled_row([p.image for p in cmp.panels], [p.name for p in cmp.panels])


def download_json(cmp: Comparison, what: str) -> str:
    """The scores and settings as JSON; `what` (an upload's file name) is text the user chose, kept as a string."""
    return json.dumps(cmp.to_json() | {"input": str(what)[:200]}, indent=2)
