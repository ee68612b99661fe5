"""Everything but the receipt check works with JavaScript off: the public numbers, the chart
(server-side SVG), and the console; the receipt page says why it needs JavaScript."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pages.browser.conftest import Browser, Site


@pytest.fixture
def no_js(page: Browser) -> Iterator[Browser]:
    page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    yield page
    page.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


def test_pages_and_console_work_without_javascript(no_js: Browser, site: Site) -> None:
    counts = site.get(f"/v1/public/initiatives/{site.initiative['id']}").json()["counts"]
    no_js.open(f"/initiatives/{site.initiative['id']}")
    assert int(no_js.css("#counts [data-count=accepted]").text) == counts["accepted"]
    assert no_js.all("#per-day-chart rect.bar")
    no_js.open("/receipt", shot="16-receipt-without-javascript-lv")
    assert "JavaScript" in no_js.css("main").text  # the <noscript> explanation shows
    assert not no_js.css("#check").is_enabled()  # nothing to submit, the receipt stays here
    assert not no_js.all("#receipt-form [name]")
    no_js.open("/console/")
    no_js.css("#token").send_keys(site.admin_token)
    no_js.click(no_js.css("#login-form button[type=submit]"))
    assert no_js.driver.current_url.endswith("/console/health")
    no_js.open("/console/initiatives")
    assert no_js.css(f"tr[data-initiative='{site.initiative['id']}']")
