"""The README's pictures, taken from the running app in English and 简体中文 (`make screenshots`).

Starts ae-lab with the shipped weights, opens each view in headless Chromium (dark theme, 1400 px wide) and writes
docs/<view>.png and docs/<view>.zh-CN.png, so the pictures always show the app as it is. Chinese needs a CJK font
(Debian: fonts-noto-cjk, which `make chromium` installs). Usage: python bench/screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import browser  # noqa: E402

LANGS = {"en": "", "zh-CN": ".zh-CN"}  # the lang= value and the file name's suffix


def settle(page) -> None:
    page.locator("h1").first.wait_for(timeout=180_000)
    time.sleep(0.5)
    browser.wait_idle(page, 300)
    time.sleep(0.8)


def playground(page) -> None:
    page.locator(".st-key-pg_residual label").click()  # the residuals make the picture say more
    settle(page)


def lesson_link(page) -> None:
    page.locator("[data-testid=stExpander] summary").last.click()  # "Make a lesson link"
    settle(page)
    page.locator("[data-testid=stExpander]").last.scroll_into_view_if_needed()


def explorer(page) -> None:
    page.locator(".st-key-ex_walk_go button").click()
    settle(page)


def hidden_size(page) -> None:
    slider = page.locator(".st-key-tu_size [role=slider], .st-key-tu_size input").first
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")  # 64 -> 8 units: the strokes start to go
    settle(page)


VIEWS = [  # (file name, path, what to do first, full page?)
    ("playground", "", playground, False),
    ("tutorial", "tutorial?step=hidden", hidden_size, False),
    ("lesson-link", "", lesson_link, False),
    ("scoreboard", "scoreboard", None, False),
    ("explorer", "explorer", explorer, False),
]


def main() -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with browser.streamlit_server() as url, sync_playwright() as p:
        b = browser.launch(p)
        for lang, suffix in LANGS.items():
            page = b.new_page(viewport={"width": 1400, "height": 900}, color_scheme="dark", locale=lang)
            for name, path, act, full in VIEWS:
                page.goto(f"{url}/{path}{'&' if '?' in path else '?'}lang={lang}")
                settle(page)
                if act:
                    act(page)
                target = args.out / f"{name}{suffix}.png"
                page.screenshot(path=str(target), full_page=full)
                print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)
            page.close()
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
