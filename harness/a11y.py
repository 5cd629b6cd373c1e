"""Accessibility checks in a real browser: axe-core (bundled by axe-playwright-python) with the WCAG 2.x A/AA rules."""

from __future__ import annotations

import re

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def violations(page, context: str | dict | None = None) -> list[dict]:
    """axe-core's WCAG 2.0/2.1/2.2 A and AA violations on the page as it is now, each {id, impact, nodes: [html]}."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    found = Axe().run(page, context=context, options=options).response["violations"]
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [(n["html"][:160], n.get("failureSummary", "")[:200]) for n in v["nodes"]],
        }
        for v in found
    ]


def summary(found: list[dict]) -> str:
    """One line per violated rule with its first offending elements (for an assertion message)."""
    return "\n".join(
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}\n    "
        + "\n    ".join(map(str, v["nodes"][:4]))
        for v in found
    )


# Technical terms and names a Chinese page keeps as they are (the allow-list): metrics, file formats, the
# dataset, hardware, units, the project's and the methods' proper names, and the words of CLI commands the pages quote.
# Each is explained once where it first appears.
ALLOWED = set(
    [
        "PSNR",
        "SSIM",
        "BCE",
        "MSE",
        "dB",
        "MNIST",
        "PCA",
        "CNN",
        "LeNet",
        "NaN",
        "PNG",
        "JPEG",
        "BMP",
        "GIF",
        "WebP",
        "JSON",
        "zip",
        "ZIP",
        "safetensors",
        "json",
        "CSV",
        "MB",
        "KB",
        "CPU",
        "GPU",
        "NVIDIA",
        "Ampere",
        "Apple",
        "macOS",
        "AVX512",
        "AMX",
        "x86",
        "bf16",
        "fp32",
        "BF16",
        "cpu",
        "cuda",
        "mps",
        "ae",
        "lab",
        "python",
        "ae_core",
        "evaluate",
        "noise",
        "type",
        "factor",
        "baselines",
        "median",
        "nl_means",
        "tv",
        "classifier",
        "make",
        "weights",
        "digit_cnn",
        "MNIST_DIR",
        "ubyte",
        "IDX",
        "raw",
        "data",
        "ETA",
        "Chambolle",
        "PyTorch",
        "Adam",
        "Vega",
        "Lite",
        "cookie",
        "img",
        "English",
        "ReLU",
        "relu",
        "out",
    ]
)  # English: the language switch names each language in its own words; ReLU, relu, out: a layer's operation and
# names (the feature maps' captions name the layers of the code)
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9_]+")
IDENTIFIER = re.compile(r"[A-Za-z]+(_\w+|\d\w*)")  # relu_1, max_pool2d, enc1: names from the code, not prose
_NOT_PROSE = re.compile(
    r":material/\w+:|`[^`]*`|python -m [^\s。，]+( --[\w-]+ [\w.]+)*|https?://\S+|\S+\.(py|json|safetensors|png|jpe?g|gif|bmp|webp)"
)


def english_left(texts: list[str]) -> list[str]:
    """Latin words in `texts` that are neither allowed technical terms nor parts of a command, a URL or a file name."""
    left = []
    for t in texts:
        words = LATIN_WORD.findall(_NOT_PROSE.sub("", t))
        left += [w for w in words if w not in ALLOWED and not IDENTIFIER.fullmatch(w)]
    return left


# The text a reader meets: every text node of the app outside hidden icons (Material Symbols are ligature words, marked
# aria-hidden and translate=no), scripts, styles and code blocks (a lesson link's URL), plus every image's alt text and
# every control's accessible label.
_PAGE_TEXT = """() => {
  const root = document.querySelector('[data-testid=stApp]');
  const skip = el => el.closest('[aria-hidden=true], [translate=no], script, style, [data-testid=stCode], code');
  const out = [];
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const t = n.nodeValue.trim();
    if (t && !skip(n.parentElement) && n.parentElement.getClientRects().length) out.push(t);
  }
  root.querySelectorAll('img[alt]').forEach(i => out.push(i.alt));
  root.querySelectorAll('[aria-label]').forEach(e => { if (!skip(e)) out.push(e.getAttribute('aria-label')); });
  return out;
}"""


def page_text(page) -> list[str]:
    return page.evaluate(_PAGE_TEXT)
