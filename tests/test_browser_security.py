"""A visitor's URL and file names are plain text on the page, and a shared computer can forget its browser
(real Chromium against a real server)."""

import os

import pytest

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HOSTILE = "[Sign in again](//example.org)"


def no_errors(page) -> None:
    assert page.locator(browser.ERROR_BOX).count() == 0


def links_to_example(page) -> int:
    """Links in app messages (toasts and alerts: none of ae-lab's own have any) or to the hostile host. By the host: the
    app's own page links carry the address's query string until the app has rewritten it, hostile text included."""
    return page.evaluate(
        "() => [...document.querySelectorAll('a')].filter(a => new URL(a.href, location.href).hostname.includes('example')"
        " || a.closest('[data-testid=stToast], [data-testid=stAlert]')).length"
    )


# Every toast's text and links, recorded as they appear: a toast disappears after a few seconds, so on a busy machine
# the first of two can be gone before the second arrives, and a check of the live page afterwards would find no link
# in a toast that is no longer there.
RECORD_TOASTS = """
window.__toasts = [];
window.__toastLinks = 0;
new MutationObserver(() => {
  document.querySelectorAll('[data-testid=stToast]').forEach(t => {
    if (t.innerText && !window.__toasts.includes(t.innerText)) window.__toasts.push(t.innerText);
  });
  const links = document.querySelectorAll('[data-testid=stToast] a').length;
  window.__toastLinks = Math.max(window.__toastLinks, links);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def test_url_text_in_a_notice_is_plain_text(app_url, tmp_path):
    with browser.app_page(app_url) as page:
        page.add_init_script(RECORD_TOASTS)
        page.goto(f"{app_url}/?{HOSTILE}=1&noise=%5Bx%5D(https://example.org)")  # a new session with the bad URL
        page.wait_for_function(
            "() => { const t = (window.__toasts || []).join(' ');"
            " return t.includes('Unknown noise type') && t.includes('[Sign in again](//ex'); }",
            timeout=60_000,
        )
        assert page.evaluate("window.__toastLinks") == 0  # in every toast while it was on the page
        assert links_to_example(page) == 0
        page.screenshot(path=str(tmp_path / "toast.png"))
        if os.environ.get("AE_LAB_SHOTS"):
            page.screenshot(path=os.path.join(os.environ["AE_LAB_SHOTS"], "toast.png"))
        browser.wait_idle(page)
        no_errors(page)


def test_an_upload_name_is_plain_text(app_url, tmp_path):
    with browser.app_page(app_url) as page:
        page.get_by_text("Upload", exact=True).click()
        bad = tmp_path / "[click me](https:__example.org) **now**.png"
        bad.write_bytes(b"%PDF-1.4 not an image")
        page.locator("input[type=file]").set_input_files(str(bad))
        alert = page.get_by_text("is not a PNG, JPEG, BMP, GIF or WebP image")
        alert.wait_for(timeout=30_000)
        shown = page.locator("[data-testid=stAlert]").filter(has_text="is not a PNG, JPEG, BMP, GIF or WebP image")
        assert "[click me](https:__example.org) **now**.png" in shown.first.inner_text()
        assert links_to_example(page) == 0
        no_errors(page)


def test_forget_this_browser_gives_a_new_id(app_url):
    with browser.app_page(app_url) as page:
        page.wait_for_function("() => document.cookie.includes('ae_lab_browser=')", timeout=60_000)
        before = page.evaluate("() => document.cookie")
        sidebar = page.locator("[data-testid=stSidebar]")
        sidebar.get_by_text("This browser", exact=True).click()
        sidebar.get_by_role("button", name="Forget this browser").click()
        sidebar.get_by_text("Forgotten: this browser starts afresh").wait_for(timeout=30_000)
        page.wait_for_function("(b) => document.cookie !== b", arg=before, timeout=30_000)
        if os.environ.get("AE_LAB_SHOTS"):
            page.screenshot(path=os.path.join(os.environ["AE_LAB_SHOTS"], "forget.png"), full_page=True)
        no_errors(page)


BROWSER_COOKIE = "() => (document.cookie.match(/(?:^|; )ae_lab_browser=([^;]*)/) || [])[1] || ''"


def open_with_cookie(b, url: str, value: str):
    ctx = b.new_context(viewport={"width": 1400, "height": 1100})
    ctx.add_cookies([{"name": "ae_lab_browser", "value": value, "url": url}])
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_function(f"() => document.querySelectorAll('{browser.OUTPUT_IMGS}').length >= 7", timeout=60_000)
    return page


def test_a_malformed_or_unknown_browser_cookie_is_harmless(app_url):
    """A cookie that is not exactly a 32-character token is ignored and replaced by a fresh one; a well-formed token
    the server never issued is just an empty browser. Neither breaks the page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = browser.launch(p)
        for bad in ("..%2F..%2Fetc%2Fpasswd", "x" * 33, "<script>alert(1)</script>", "a" * 3000, "short"):
            page = open_with_cookie(b, app_url, bad)
            page.wait_for_function(f"(bad) => ({BROWSER_COOKIE})() !== bad", arg=bad, timeout=30_000)
            fresh = page.evaluate(BROWSER_COOKIE)
            assert len(fresh) == 32 and fresh.replace("-", "").replace("_", "").isalnum(), fresh
            no_errors(page)
            page.context.close()
        unknown = "Z" * 32
        page = open_with_cookie(b, app_url, unknown)
        browser.wait_idle(page, 60)
        assert page.evaluate(BROWSER_COOKIE) == unknown  # kept: a valid id with nothing behind it yet
        assert page.locator("[data-testid=stSidebar] [data-testid=stProgress]").count() == 0
        no_errors(page)
        b.close()
