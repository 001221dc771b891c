"""The moderation queue in a real browser: Playwright driving Debian's Chromium against a real server.

Skipped, with the reason, where Chromium (``apt-get install chromium``) or the ``playwright`` package
(the ``browser`` extra) is missing; `.ci/run` installs both. Playwright's own browser download is never
used: there is no internet here, so the system's Chromium is launched by path.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fixtures.service.service_support import BLOG, HERE, http, make_app, model_path  # noqa: F401

from moderation.service.auth import set_password
from moderation.service.keys import new_key

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
# The README's screenshot is rewritten only on request (MODERATION_SCREENSHOT=1), so a test run leaves the
# working tree as it was.
SCREENSHOT = ROOT / "docs" / "queue.png"
OTHER = "https://other.example/"
PASSWORD = "rye and caraway seeds"
OTHER_PASSWORD = "another site's password"

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the installation
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed: pip install -e '.[browser]'"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: apt-get install chromium"),
]

LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Invented comments for the screenshot and the filters, scored by the real model through comment-check.
COMMENTS = [
    ("Marta K.", "I rested the rye loaf a full day like you said and the crumb was finally not gummy. Thanks!"),
    ("Jonas", "Would a 10% caraway share overpower the rye? I only have whole seeds."),
    ("best loans", "Fast payday loans approved in minutes, no credit check, apply now at http://loans.example"),
    ("SEO expert", "Great post! I will bookmark it. Visit my site for cheap replica watches and casino bonus!!!"),
    ("Tomás", "My starter smells like nail polish after two days in the fridge, is it dead?"),
    ("crypto_king", "I earned $5,000 a week trading bitcoin, contact me on WhatsApp +1 555 0100 to learn how"),
]


def start(app):
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


def check(app, key, comments, permalink="https://crumbnotes.example/rye-loaf"):
    client = http(app)
    for author, text in comments:
        client.post(
            "/1.1/comment-check",
            data={
                "api_key": key,
                "blog": BLOG,
                "user_ip": "203.0.113.9",
                "permalink": permalink,
                "comment_author": author,
                "comment_content": text,
            },
        )


@pytest.fixture
def server(tmp_path, model_path):  # noqa: F811
    app = make_app(tmp_path / "service.db", model_path, rate=1000, burst=1000)
    app.queue.options.data = [HERE]
    app.queue.options.models_dir = tmp_path / "models"
    keys = {BLOG: new_key(app.store, BLOG), OTHER: new_key(app.store, OTHER)}
    set_password(app.store, BLOG, PASSWORD)
    set_password(app.store, OTHER, OTHER_PASSWORD)
    check(app, keys[BLOG], COMMENTS)
    server, thread = start(app)
    yield app, f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page, base, site=BLOG, password=PASSWORD):
    page.goto(base + "/")
    page.fill('input[name="site"]', site)
    page.fill('input[name="password"]', password)
    page.click('button:has-text("Log in")')


def families_of_rows(app, page):
    from moderation.service.families import families_of

    ids = [int(i[1:]) for i in page.locator("tr[id^=r]").evaluate_all("rows => rows.map(r => r.id)")]
    return [{"id": i, "reasons_families": families_of(app.store.get_request(i)["reasons"])} for i in ids]


def held(app, content, author="Ines", site=BLOG, reasons=("contains 1 link(s)",)):
    return app.store.log_requests(
        [
            {
                "site": site,
                "endpoint": "comment-check",
                "answer": "true",
                "model_version": "m",
                "permalink": "https://crumbnotes.example/rye-loaf",
                "author": author,
                "content": content,
                "score": 0.61,
                "verdict": "hold",
                "reasons": list(reasons),
            }
        ]
    )[0]


def test_login_and_logout(server, page):
    app, base = server
    log_in(page, base, password="not the password")
    expect(page.locator(".error")).to_have_text("Wrong site or password.")
    log_in(page, base)
    expect(page.locator("table.queue")).to_be_visible()
    expect(page.locator("tr[id^=r]")).to_have_count(len(COMMENTS))
    page.click('button:has-text("Log out")')
    expect(page).to_have_url(base + "/login")
    page.goto(base + "/")
    expect(page).to_have_url(base + "/login")


def test_filtering_by_verdict_reason_and_text(server, page):
    app, base = server
    rid = held(app, "Call me on +1 555 0100", reasons=["contains a phone number"])
    log_in(page, base)
    page.select_option('select[name="family"]', "contact")
    page.click('button:has-text("Filter")')
    expect(page.locator(f"#r{rid}")).to_be_visible()
    assert all("contact" in r["reasons_families"] for r in families_of_rows(app, page))
    page.goto(base + "/")
    page.fill('input[name="q"]', "caraway")
    page.click('button:has-text("Filter")')
    expect(page.locator("td.comment")).to_have_count(1)
    expect(page.locator("td.comment")).to_contain_text("caraway")
    expected = sum(1 for r in app.store.request_page(BLOG) if r["verdict"] == "approve")
    page.goto(base + "/")
    page.select_option('select[name="verdict"]', "approve")
    page.click('button:has-text("Filter")')
    expect(page.locator("td.verdict")).to_have_count(expected)


def test_rescue_a_held_comment_then_undo(server, page):
    app, base = server
    rid = held(app, "Here is the bakery I mentioned: https://bakery.example/rye (not an ad!)")
    log_in(page, base)
    page.select_option('select[name="verdict"]', "hold")
    page.click('button:has-text("Filter")')
    row = page.locator(f"#r{rid}")
    row.locator('button:has-text("Not spam")').click()
    expect(page.locator(".notice")).to_contain_text("Marked 1 as not spam")
    expect(page.locator(f"#r{rid} td.decided")).to_have_text("moderator: not spam")
    assert [c.label for c in app.store.corrections(sites=[BLOG])] == ["ham"]
    page.locator(f"#r{rid}").locator('button:has-text("Undo")').click()
    expect(page.locator(".notice")).to_contain_text("Undone")
    expect(page.locator(f"#r{rid} td.decided")).to_have_text("model")
    assert app.store.corrections(sites=[BLOG]) == []


def test_mark_a_selection_with_select_all(server, page):
    app, base = server
    log_in(page, base)
    page.check("#select-all")
    page.click('button[name="label"][value="spam"]')
    expect(page.locator(".notice")).to_contain_text(f"Marked {len(COMMENTS)} as spam")
    assert len(app.store.corrections(sites=[BLOG])) == len(COMMENTS)


def test_retrain_shows_the_report_and_rollback(server, page):
    app, base = server
    for i in range(3):
        held(app, f"Cheap replica watches and casino bonus number {i}, visit http://x.example now", "spam bot")
        held(app, f"The rye loaf number {i} rested a day and sliced cleanly, thank you", "Ines")
    log_in(page, base)
    page.goto(base + "/?q=replica")
    page.check("#select-all")
    page.click('button[name="label"][value="spam"]')
    page.goto(base + "/?q=sliced")
    page.check("#select-all")
    page.click('button[name="label"][value="ham"]')
    page.click('nav a:has-text("Retrain")')
    page.click('button:has-text("Retrain now")')
    expect(page.locator("#retrain-report")).to_be_visible(timeout=180000)
    expect(page.locator("#retrain-report")).to_contain_text("held-out corrections")
    page.click('nav a:has-text("Models")')
    candidate = app.store.list_models(site=BLOG)[0].version
    expect(page.locator("table.models")).to_contain_text(candidate)
    base_version = app.store.list_models(site="")[0].version
    page.locator(f'button[value="{base_version}"]').click()
    expect(page.locator(".notice")).to_contain_text("now serves the site")
    assert app.store.active_model(BLOG) == base_version


def test_another_site_sees_nothing(server, page):
    app, base = server
    log_in(page, base, OTHER, OTHER_PASSWORD)
    expect(page.locator("p.empty")).to_have_text("No checks match.")
    content = page.content()
    assert all(text[:30] not in content for _, text in COMMENTS)


def test_form_without_csrf_is_refused(server, page):
    app, base = server
    rid = held(app, "A held comment")
    log_in(page, base)
    # The browser's own session cookie goes along; only the token is missing.
    reply = page.request.post(base + "/queue/action", form={"row": f"spam:{rid}"})
    assert reply.status == 403
    assert app.store.corrections() == []


def test_script_in_a_comment_is_shown_as_text(server, page):
    app, base = server
    held(app, '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">', author="<b>x</b>")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, base)
    expect(page.locator("td.comment").first).to_contain_text("<script>window.pwned = 1</script>")
    expect(page.locator("td.author").first).to_have_text("<b>x</b>")
    assert page.evaluate("window.pwned") is None
    assert dialogs == []


SHOWCASE = [
    ("Marta K.", "I rested the rye loaf a full day like you said and the crumb was finally not gummy. Thanks!"),
    ("Jonas", "Lovely! What hydration do you use? I only have whole caraway seeds."),
    ("best loans", "Fast payday loans approved in minutes, no credit check, apply now at http://loans.example"),
    ("Ada", "Great article, very informative. Thanks for sharing!"),
    ("bread tips", "Check my blog for more bread recipes http://bread-blog.example"),
    ("Tomás", "Here is the bakery I mentioned: https://bakery.example/rye (not an ad!)"),
    ("crypto_king", "I earned $5,000 a week trading bitcoin, contact me on WhatsApp +1 555 0100 to learn how"),
    ("Lena", "<script>alert('hi')</script> is what I see when the page loads, is that normal?"),
]


def test_screenshot_of_the_queue(tmp_path, page):
    """The queue with the shipped model's verdicts and reasons on invented comments, one rescued; saved
    as docs/queue.png when MODERATION_SCREENSHOT=1."""
    import os

    from moderation.service.app import create_app

    target = SCREENSHOT if os.environ.get("MODERATION_SCREENSHOT") == "1" else tmp_path / "queue.png"

    app = create_app(tmp_path / "shot.db")
    key = new_key(app.store, BLOG)
    set_password(app.store, BLOG, PASSWORD)
    app.store.put_post(
        "https://crumbnotes.example/rye-loaf",
        site=BLOG,
        title="A rye loaf with caraway",
        body="Rye loaf: 70% rye flour, caraway seeds, a sourdough starter, rested a full day before slicing.",
    )
    check(app, key, SHOWCASE)
    server, thread = start(app)
    try:
        base = f"http://127.0.0.1:{server.effective_port}"
        log_in(page, base)
        rescued = page.locator("tr", has_text="Great article").get_attribute("id")
        page.locator(f"#{rescued}").locator('button[value^="ham:"]').click()
        expect(page.locator(f"#{rescued} td.decided")).to_have_text("moderator: not spam")
        target.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
    finally:
        server.close()
        thread.join(timeout=5)
    assert target.read_bytes()[:4] == b"\x89PNG"
