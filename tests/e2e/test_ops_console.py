"""The ops console in a real headless browser, opened as an ops person opens it: refused without the
token, then through the banner's link; the seeded case in the queue, its execution and timeline, and a
screenshot that really shows the page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import Stack
from tests.support.driver import wait_for_status

pytestmark = pytest.mark.e2e

HEADING = "Complaints — ops console"
VIEWPORT = {"width": 1280, "height": 900}
HEADER_BACKGROUND = (0xEE, 0xF2, 0xF6)  # th{background:#eef2f6} in ops_page.html
FETCH_STATUS = "async url => (await fetch(url, {credentials: 'include'})).status"


@contextmanager
def browser_page(browser: Any, shots: Path, name: str) -> Iterator[Any]:
    """A page in a fresh context (no cookies); on failure its screenshot is left in `shots`."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    except BaseException as error:
        shot = shots / f"{name}-at-failure.png"
        try:
            page.screenshot(path=shot, full_page=True)
            error.add_note(f"screenshot of the page at the failure: {shot} ({page.url})")
        except Exception as screenshot_error:
            error.add_note(f"no screenshot at the failure: {screenshot_error}")
        raise
    finally:
        context.close()


def submit_technical_complaint(stack: Stack) -> dict:
    """A P3 case for Technical Support. Not a payment complaint: the session's stack holds every earlier
    test's open finance cases, and the console lists 20 per department, most urgent (oldest) first."""
    answer = requests.post(
        f"{stack.api_url}/complaints",
        json={
            "customer": {"email": f"player.{uuid.uuid4().hex[:8]}@example.com"},
            "description": "The app keeps crashing with an error code since the last update.",
            "amount": {"value": "1200.00", "currency": "CNY"},
        },
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


def check_rendered(png: Path) -> None:
    """The screenshot decodes, is page-sized, and shows the page: header cells and text, not a blank."""
    import numpy as np
    from matplotlib.image import imread

    pixels = imread(png)  # float RGB(A) in [0, 1]
    height, width = pixels.shape[:2]
    assert width >= 800 and height >= 400, f"{png} is {width}x{height}"
    rgb = (pixels[..., :3] * 255).round().astype(int)
    colours = len(np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]))
    assert colours >= 10, f"{png} looks blank: {colours} distinct colours"
    header = (rgb == HEADER_BACKGROUND).all(axis=-1).sum()
    assert header >= 1000, f"{png}: only {header} pixels of the table header background #eef2f6"
    dark = (rgb.max(axis=-1) < 90).sum()  # text is #1d2733 and anti-aliased around it
    assert dark >= 500, f"{png}: only {dark} dark (text) pixels"


def test_ops_console_from_the_banner_link_in_a_browser(stack: Stack, browser: Any, tmp_path: Path):
    accepted = submit_technical_complaint(stack)
    complaint_id = accepted["complaintId"]
    view = wait_for_status(stack, accepted, "INVESTIGATING")
    assert (view["department"], view["priority"]) == ("technical-support", "P3"), view
    console = f"{stack.api_url}/ops"

    # Without the token: API Gateway's 403 for an unsigned request, and nothing of the console.
    with browser_page(browser, tmp_path, "anonymous") as page:
        answer = page.goto(console)
        assert answer is not None and answer.status == 403
        text = page.content()
        assert "Missing Authentication Token" in text
        assert HEADING not in text and complaint_id not in text

    with browser_page(browser, tmp_path, "signed-in") as page:
        # The banner's link: a 303 that swaps the token for an HttpOnly cookie and drops it from the URL.
        answer = page.goto(stack.ops_link)
        assert answer is not None and answer.status == 200
        assert page.url == console and stack.ops_token not in page.url, page.url
        first = answer.request.redirected_from
        assert first is not None and first.response().status == 303
        (cookie,) = [c for c in page.context.cookies() if c["name"] == "ops_token"]
        assert cookie["httpOnly"] and cookie["path"] == urlsplit(console).path
        assert "ops_token" not in page.evaluate("document.cookie")

        shot = tmp_path / "ops-console.png"
        page.screenshot(path=shot, full_page=True)
        seen = f"(screenshot: {shot})"
        assert page.locator("h1").inner_text() == HEADING, seen

        row = page.locator(f'#queue tr[data-complaint="{complaint_id}"]')
        assert row.count() == 1, f"{complaint_id} not in the open cases {seen}"
        cells = row.locator("td").all_inner_texts()
        department, priority, shown_id, *_, sla, response_due = cells
        assert shown_id == complaint_id, seen
        assert (department, priority) == (view["department"], view["priority"]), f"{cells} {seen}"
        assert re.search(r"\bleft$|^OVERDUE by ", sla), f"SLA countdown {sla!r} {seen}"
        assert response_due.endswith("(Asia/Shanghai)"), f"final response due {response_due!r} {seen}"

        execution = page.locator(f'#executions-table tr[data-complaint="{complaint_id}"]')
        assert execution.count() == 1, f"no execution row for {complaint_id} {seen}"
        name, status, state, _started = execution.locator("td").all_inner_texts()
        assert name == complaint_id and status == "RUNNING", seen
        assert state not in ("", "-"), f"no current state {seen}"
        assert page.locator("#mailbox-link").get_attribute("href") == f"{stack.base_url}/_local/mailbox", seen
        check_rendered(shot)

        # The cookie opens the JSON view too.
        assert page.evaluate(FETCH_STATUS, f"{console}/api/queue") == 200

        execution.get_by_role("link", name=complaint_id).click()
        page.wait_for_url(f"{console}/executions/{complaint_id}")
        states = page.locator("#timeline td.state").all_inner_texts()
        for plain in ("Send acknowledgement", "Triage complaint", "Wait for investigator"):
            assert plain in states, f"{plain!r} not in the timeline {states}"
        # Both clocks: the resolution target (which waits for the customer's answers) and the regulatory
        # deadline, which never does.
        clocks = page.locator("#clocks").inner_text()
        assert "Resolution target (internal SLA)" in clocks and "never pauses" in clocks, clocks

    # Another browser context, no cookie: the API refuses the same fetch.
    with browser_page(browser, tmp_path, "no-cookie") as page:
        page.goto(f"{stack.base_url}/health")
        assert page.evaluate(FETCH_STATUS, f"{console}/api/queue") == 403
