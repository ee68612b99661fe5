"""The public pages in a real browser show the numbers the API gives, in both languages, with
no CSP violation (every page load checks the browser console)."""

from __future__ import annotations

import pytest
from flask import Flask

from audit.checkpoint import Checkpoint
from audit.note import parse as parse_note
from sigsvc.pages import headers
from tests.pages.browser.conftest import (
    ACCEPTED,
    REJECTED,
    Browser,
    BrowserProblem,
    Site,
    one_line,
    serve,
)


def test_initiatives_list_and_page_show_the_api_counts(page: Browser, site: Site) -> None:
    api = site.get(f"/v1/public/initiatives/{site.initiative['id']}").json()
    counts = api["counts"]
    assert counts["accepted"] == len(ACCEPTED)
    assert counts["rejected_by_reason"] == {reason: 1 for reason in REJECTED.values()}

    page.open("/", shot="01-initiatives-lv")
    row = page.css(f"tr[data-initiative='{site.initiative['id']}']")
    shown = {
        c.get_attribute("data-count"): int(c.text)
        for c in row.find_elements("css selector", "[data-count]")
    }
    assert shown == {k: counts[k] for k in ("accepted", "withdrawn", "rejected")}
    assert api["title"] in row.text
    assert page.driver.find_element("css selector", "html").get_attribute("lang") == "lv"

    page.open(f"/initiatives/{site.initiative['id']}", shot="02-initiative-lv")
    box = page.css("#counts")
    assert {
        e.get_attribute("data-count"): int(e.text)
        for e in box.find_elements("css selector", "[data-count]")
    } == {k: counts[k] for k in ("accepted", "withdrawn", "rejected")}
    by_reason = {
        e.get_attribute("data-reason"): int(e.text) for e in page.all("#rejections [data-reason]")
    }
    assert by_reason == counts["rejected_by_reason"]
    bars = page.all("#per-day-chart rect.bar")
    assert sum(int(b.get_attribute("data-count")) for b in bars) == counts["accepted"]
    assert bars[-1].size["height"] > 0  # today's bar is drawn

    # The same page in English, through the switch link (a cookie keeps the choice).
    page.driver.find_element("css selector", "a[hreflang='en']").click()
    page.check(shot="03-initiative-en")
    assert page.css("html").get_attribute("lang") == "en"
    assert "Signatures per day" in page.css("main").text
    page.open("/", shot="04-initiatives-en")
    assert "Initiatives" in page.css("h1").text


def test_log_page_shows_size_checkpoint_and_key(page: Browser, site: Site) -> None:
    note = site.get("/v1/log/checkpoint").content  # cuts one if due, as the page's readers do
    checkpoint = Checkpoint.from_text(parse_note(note).text)
    page.open("/log", shot="05-log-lv")
    facts = page.css("#log-facts")
    size = int(facts.find_element("css selector", "[data-field='size']").text)
    shown_checkpoint = int(
        facts.find_element("css selector", "[data-field='checkpoint-size']").text
    )
    assert size >= checkpoint.size == shown_checkpoint
    assert page.css("[data-field='log-key']").text == site.log_vkey()
    assert page.css("#latest-checkpoint").text.strip() == note.decode().strip()
    history = page.all("#checkpoint-history tbody tr")
    assert history and history[0].find_elements("css selector", "td")[1].text == str(
        checkpoint.size
    )
    assert "sigaudit verify" in one_line(page.css("main").text)


def test_public_pages_carry_no_personal_data(page: Browser, site: Site) -> None:
    """The test PKI's signers' names and personal codes appear on no public page or file."""
    from certification.testpki.sign import form_for

    forbidden = set()
    for signer in ACCEPTED + tuple(REJECTED):
        for line in form_for(signer).decode().splitlines():
            key, _, value = line.partition(": ")
            if key in ("Vārds", "Uzvārds", "Personas kods"):
                forbidden.add(value)
    assert forbidden
    paths = ["/", f"/initiatives/{site.initiative['id']}", "/log", "/receipt"]
    paths += ["/data/initiatives.json", "/data/initiatives.csv", "/feed.atom"]
    paths += [f"/data/initiatives/{site.initiative['id']}.json"]
    for path in paths:
        body = site.get(path).text
        leaked = [value for value in forbidden if value in body]
        assert not leaked, (path, leaked)


def test_the_csp_check_catches_inline_script_and_style(browser: Browser) -> None:
    """The guard every page load goes through can fail: a page under the same headers with an
    inline script and an inline style is reported."""
    probe = Flask("probe")
    headers.init_app(probe)
    probe.add_url_rule(
        "/",
        "probe",
        lambda: '<!doctype html><p style="color:red">x</p><script>document.title="x"</script>',
    )
    with serve(probe) as url:
        browser.base = url
        with pytest.raises(BrowserProblem, match="Content Security Policy"):
            browser.open("/")


def test_keyboard_reaches_the_skip_link_then_the_navigation(page: Browser, site: Site) -> None:
    from selenium.webdriver.common.keys import Keys

    page.open("/")
    body = page.css("body")
    body.send_keys(Keys.TAB)
    active = page.driver.switch_to.active_element
    assert active.get_attribute("href").endswith("#main")
    assert active.is_displayed()  # the skip link shows itself when focused
    active.send_keys(Keys.ENTER)
    assert page.driver.execute_script("return document.activeElement.id") == "main"
    page.driver.switch_to.active_element.send_keys(Keys.TAB)
    assert page.driver.switch_to.active_element.tag_name == "a"
