"""The demo features in a real browser (Playwright on Debian's Chromium, one app server for the
module): the story player, side by side, why this slot, and the downloaded conversation opened
offline with an `<xss onmouseover>` statement that never fires.

The README's tour pictures are refreshed only when asked for (next to the main screenshot):
  MEMNET_SCREENSHOT=bench/results/app-screenshot.png .venv/bin/python -m pytest tests/test_browser.py tests/test_browser_demo.py
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.app_fixtures import app_model_dir, app_url  # noqa: F401
from tests.test_browser import SCREENSHOT_ENV, XSS, browser, send  # noqa: F401


def _shot(page, name: str, tmp_path: Path) -> None:
    """A tour picture: into the README's folder when MEMNET_SCREENSHOT names it, else a temporary one."""
    folder = Path(os.environ[SCREENSHOT_ENV]).parent if os.environ.get(SCREENSHOT_ENV) else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"app-{name}.png"), full_page=True)
    assert (folder / f"app-{name}.png").stat().st_size > 0


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})   # its own session key
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(app_url)
    # the page's load event fills the memory panel; a message sent before it may be drawn over by it
    from playwright.sync_api import expect
    expect(page.locator("#memory")).to_contain_text("The memory is empty")
    yield page
    context.close()


def test_the_message_box_waits_for_the_session_then_takes_typing(browser, app_url):
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    held, released = [], []   # the page's load event, held back: until it answers there is no session to write to
    page.route("**/queue/join*", lambda route: route.continue_() if released else held.append(route))
    try:
        page.goto(app_url)
        expect(page.locator("#message textarea")).to_be_disabled()
        page.get_by_text("Settings and data").click()
        settings = ("#export", "#import", "#download")
        for button in ("#send", "#undo", "#clear", *settings):   # the story player's are on a tab not yet drawn
            expect(page.locator(button)).to_be_disabled()
        expect(page.get_by_label("model", exact=True)).to_be_disabled()
        page.wait_for_timeout(500)
        assert held, "the page sent no load event"
        released.append(True)
        for route in held:
            route.continue_()
        expect(page.locator("#memory")).to_contain_text("The memory is empty")
        expect(page.locator("#message textarea")).to_be_focused()   # autofocus once enabled: type at once
        for button in settings:
            expect(page.locator(button)).to_be_enabled()
        expect(page.get_by_label("model", exact=True)).to_be_enabled()
        page.keyboard.type("Priya walked into the office.")
        page.keyboard.press("Enter")
        expect(page.locator("#memory tr.slot")).to_have_count(1)
        # the chat's toolbar shows, but not its own trash icon (it cleared the page's chat, not the memory)
        expect(page.locator("#chat button[aria-label='Copy conversation']")).to_be_visible()
        expect(page.locator("#chat button[aria-label='Clear']")).to_have_count(1)
        expect(page.locator("#chat button[aria-label='Clear']")).to_be_hidden()
        # a status line is a reply of its own, not run into the reply before it
        page.keyboard.type("Oskar went to the bakery.")
        page.keyboard.press("Enter")
        expect(page.locator("#memory tr.slot")).to_have_count(2)
        page.locator("#undo").click()
        expect(page.locator("#memory tr.slot")).to_have_count(1)
        expect(page.locator("#chat .message-row").last).to_have_text("Undone: forgot 1 slot (slot 1).")
        expect(page.locator("#message textarea")).to_be_focused()   # typing goes on where it was
    finally:
        context.close()


def _load_story(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Story player").click()
    page.locator("#load-story").click()
    expect(page.locator("#player")).to_contain_text("milk and apple · step 0 of 14")


def test_player_steps_through_a_bundled_story_and_keeps_score(page, tmp_path):
    from playwright.sync_api import expect

    _load_story(page)
    for n in range(1, 5):   # three statements, then the first question
        page.locator("#step").click()
        expect(page.locator("#player")).to_contain_text(f"step {n} of 14")
    expect(page.locator("#memory tr.slot")).to_have_count(3)
    expect(page.locator("#player tr.outcome")).to_have_count(1)
    expect(page.locator("#player tr.outcome")).to_contain_text("Where is Mary?")
    expect(page.locator("#player .accuracy")).to_contain_text("/1 right")
    expect(page.locator("#chat")).to_contain_text("Where is Mary?")
    page.locator("#step").click()   # a statement: its new slot is highlighted
    expect(page.locator("#memory tr.new")).to_have_count(1)
    expect(page.locator("#memory tr.new")).to_contain_text("Mary went to the office.")
    page.locator("#speed input[type=number]").fill("0.3")
    page.locator("#speed input[type=number]").press("Enter")
    page.locator("#play").click()
    expect(page.locator("#player")).to_contain_text("step 14 of 14", timeout=60_000)
    expect(page.locator("#player tr.outcome")).to_have_count(6)
    expect(page.locator("#player .accuracy")).to_contain_text("/6 right")
    expect(page.locator("#play")).to_have_text("Play")
    expect(page.locator("#memory tr.slot")).to_have_count(8)
    _shot(page, "player", tmp_path)
    page.locator("#reset").click()
    expect(page.locator("#player")).to_contain_text("step 0 of 14")
    expect(page.locator("#memory")).to_contain_text("The memory is empty")
    assert page.dialogs == []


def test_side_by_side_and_why_this_slot(page, tmp_path):
    from playwright.sync_api import expect

    _load_story(page)
    page.locator("#compare-box").click()
    page.locator("#compare input").check()
    expect(page.locator("#other-hops input[type=number]")).to_have_value("2")   # B's own k by default
    page.locator("#other-hops input[type=number]").fill("1")
    page.locator("#other-hops input[type=number]").press("Enter")
    for n in range(1, 5):
        page.locator("#step").click()
        expect(page.locator("#player")).to_contain_text(f"step {n} of 14")
    sides = page.locator("#sides .side")
    expect(sides).to_have_count(2)
    expect(sides.nth(0)).to_contain_text("run with k=2")
    expect(sides.nth(1)).to_contain_text("run with k=1")
    expect(sides.nth(0).locator(".hopchart")).to_have_count(2)
    expect(sides.nth(1).locator(".hopchart")).to_have_count(1)
    expect(page.locator("#player .accuracy-b")).to_contain_text("/1 right")
    for chart in page.locator("#sides .hopchart svg").all():   # each chart fits its narrow column
        svg, side = chart.bounding_box(), chart.locator("xpath=ancestor::div[@class='side']").bounding_box()
        assert svg["x"] >= side["x"] and svg["x"] + svg["width"] <= side["x"] + side["width"], (svg, side)
    _shot(page, "side-by-side", tmp_path)

    # why: a click on a row, then on a bar of O's chart
    page.locator('#memory tr.slot[data-slot="2"]').click()
    why = page.locator("#why")
    expect(why).to_contain_text("Why slot 2")
    expect(why).to_contain_text("§3.6 match")
    expect(why).to_contain_text("R’s top answers in parts")
    expect(page.locator('#memory tr.selected[data-slot="2"]')).to_have_count(1)
    picked = page.locator("#memory tr.support").first.get_attribute("data-slot")
    page.locator(f'#chart g.bar[data-slot="{picked}"][data-hop="1"] rect').click()
    expect(why).to_contain_text(f"Why slot {picked}")
    expect(why.locator("tbody tr").first).to_contain_text("picked")
    _shot(page, "why", tmp_path)
    assert page.dialogs == []


def test_downloaded_conversation_opens_offline_and_never_runs_user_text(page, tmp_path, browser):
    from playwright.sync_api import expect

    send(page, XSS)
    expect(page.locator("#memory tr.slot")).to_have_count(1)
    send(page, "Mary moved to the bathroom. Mary travelled to the office.")
    expect(page.locator("#memory tr.slot")).to_have_count(3)
    send(page, "Where is Mary?")
    expect(page.locator("#ranking")).to_contain_text("office")
    page.get_by_text("Settings and data").click()
    page.locator("#download").click()
    link = page.locator("#downloaded a").first
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "conversation.html"
    info.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and XSS not in html

    offline = browser.new_context(offline=True)
    opened = offline.new_page()
    fired: list[str] = []
    opened.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
    opened.on("request", lambda request: fired.append(request.url) if not request.url.startswith("file:") else None)
    try:
        opened.goto(saved.as_uri())
        expect(opened.locator("body")).to_contain_text(XSS)            # shown as text
        expect(opened.locator("section.answer")).to_have_count(1)
        expect(opened.locator("section.answer svg")).to_have_count(opened.locator("section.answer .hopchart").count())
        expect(opened.locator("section.answer")).to_contain_text("office")
        assert opened.locator("xss").count() == 0 and fired == []
        _shot(opened, "download", tmp_path)
    finally:
        offline.close()
