"""Teachers by OIDC e-mail, for real: Streamlit's st.login against a real OpenID provider on localhost
(oidc-provider-mock), in Chromium. A listed teacher with a verified e-mail unlocks the class's controls; a student,
and a claim of the teacher's e-mail that the provider has not verified, do not."""

import secrets
import time
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from harness import browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TEACHER = "teacher@example.org"


@pytest.fixture(scope="module")
def provider():
    import oidc_provider_mock

    with oidc_provider_mock.run_server_in_thread() as server:
        url = f"http://localhost:{server.server_port}"
        for sub, email, verified in (
            ("teacher", TEACHER, True),
            ("student", "student@example.org", True),
            ("mallory", TEACHER, False),  # claims the teacher's address, unverified
        ):
            r = httpx.put(f"{url}/users/{quote(sub)}", json={"email": email, "email_verified": verified})
            assert r.status_code == 204, r.text
        yield url


@pytest.fixture(scope="module")
def app(provider, tmp_path_factory):
    port = browser.free_port()
    folder = tmp_path_factory.mktemp("oidc")
    (folder / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        'client_id = "ae-lab"\n'
        'client_secret = "ae-lab-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    env = {"AE_LAB_CLASSROOM": "1", "AE_LAB_TEACHER_EMAILS": TEACHER}
    args = ["--secrets.files", str(folder / "secrets.toml")]
    with browser.streamlit_server(env=env, args=args, port=port, log_path=folder / "server.log") as url:
        yield url.replace("127.0.0.1", "localhost"), url


def settle(page) -> None:
    page.locator("h1").first.wait_for(timeout=120_000)
    time.sleep(0.3)
    browser.wait_idle(page, 120)


def log_in(page, url: str, sub: str) -> None:
    page.goto(f"{url}/train")
    settle(page)
    page.get_by_text("Teacher", exact=True).click()
    page.locator(".st-key-teacher_login button").click()
    page.get_by_placeholder("sub").fill(sub)  # the provider's own form
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(lambda u: u.startswith(url) and "oauth2callback" not in u, timeout=60_000)
    deadline = time.monotonic() + 30
    while not any(c["name"].startswith("_streamlit_user") for c in page.context.cookies()):
        assert time.monotonic() < deadline, page.context.cookies()
        time.sleep(0.2)
    settle(page)  # back on the app's start page, logged in
    page.goto(f"{url}/train")  # the Teacher panel is on the Train page
    settle(page)
    page.get_by_text("Teacher", exact=True).click()
    time.sleep(0.3)


@pytest.mark.parametrize(("sub", "teacher"), [("teacher", True), ("student", False), ("mallory", False)])
def test_only_a_listed_teacher_with_a_verified_email_unlocks_the_class(app, sub, teacher):
    url, served = app
    with sync_playwright() as p:
        b = browser.launch(p)
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        log_in(page, url, sub)
        sidebar_and_main = page.locator("[data-testid=stApp]")
        if teacher:
            expect(sidebar_and_main).to_contain_text("Students' runs may have", timeout=60_000)  # the cap controls
            assert page.locator(".st-key-teacher_login").count() == 0
        elif sub == "student":  # verified, but not on the list
            expect(sidebar_and_main).to_contain_text("You are logged in, but not as one of this class's teachers.")
        else:  # the teacher's address, unverified: as if not logged in at all
            expect(page.locator(".st-key-teacher_login button")).to_be_visible()
        if not teacher:
            assert "Students' runs may have" not in sidebar_and_main.inner_text()
        browser.assert_clean(page, served)
        b.close()
