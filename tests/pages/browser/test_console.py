"""The operator console end to end in a real browser: log in with an admin token, register and
close an initiative, create a platform (key shown once, and it works), revoke it, export a
batch, refuse a bad acknowledgement, push it to the reference receiver, purge it after the
retention period, read the health page, log out. Every page load checks the CSP."""

from __future__ import annotations

from typing import Any

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.pages.browser.conftest import Browser, Site


def submit(page: Browser, form_selector: str, shot: str | None = None) -> None:
    page.click(page.css(f"{form_selector} button[type=submit]"), shot)


def message(page: Browser) -> Any:
    return page.css("#message")


def test_console_flows_end_to_end(page: Browser, site: Site, receiver: Any) -> None:
    # Log in: a wrong token is refused, the admin token opens the health page.
    page.open("/console/", shot="10-console-login-lv")
    page.css("#token").send_keys("sgadm_not-a-token")
    submit(page, "#login-form")
    assert "nav derīga" in message(page).text
    page.css("#token").send_keys(site.admin_token)
    submit(page, "#login-form", shot="11-console-health-lv")
    assert page.driver.current_url.endswith("/console/health")
    cookie = page.driver.get_cookie("sigsvc_console")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console"
    overall = page.css("#health-overall").get_attribute("data-overall")
    assert overall == "warning"  # the tests run with a TEST clock: said plainly
    assert "SIGSVC_TEST_CLOCK" in page.css("#findings").text

    # Initiatives: register one, then close it.
    page.open("/console/initiatives")
    Select(page.css("#regime")).select_by_value("art22_bill")
    page.css("#registration_number").send_keys("KONSOLE-2026/7")
    page.css("#title").send_keys("Konsoles iniciatīva")
    page.css("#full_text").send_keys("Likumprojekts.\n1. pants.")
    for field, value in (("#starts_on", "2026-12-01"), ("#ends_on", "2027-11-30")):
        page.driver.execute_script("arguments[0].value = arguments[1]", page.css(field), value)
    submit(page, "#register-form", shot="12-console-initiatives-lv")
    assert "KONSOLE-2026/7" in message(page).text
    public = requests.get(f"{site.url}/v1/public/initiatives", timeout=10).json()["initiatives"]
    created = next(i for i in public if i["registration_number"] == "KONSOLE-2026/7")
    assert created["status"] == "open"
    row = page.css(f"tr[data-initiative='{created['id']}']")
    page.click(row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "closed" in message(page).text
    assert (
        requests.get(f"{site.url}/v1/public/initiatives/{created['id']}", timeout=10).json()[
            "status"
        ]
        == "closed"
    )

    # The same number again is refused with its reason code.
    page.open("/console/initiatives")
    Select(page.css("#regime")).select_by_value("art22_bill")
    page.css("#registration_number").send_keys("KONSOLE-2026/7")
    page.css("#title").send_keys("Atkal")
    page.css("#full_text").send_keys("Teksts.")
    for field, value in (("#starts_on", "2026-12-01"), ("#ends_on", "2027-11-30")):
        page.driver.execute_script("arguments[0].value = arguments[1]", page.css(field), value)
    submit(page, "#register-form")
    assert message(page).get_attribute("data-code") == "DUPLICATE_REGISTRATION_NUMBER"

    # Platforms: the key is shown once and works (revoked at the end).
    page.open("/console/platforms")
    page.css("#name").send_keys("konsoles-platforma")
    page.css(f"input[value='{site.initiative['id']}']").click()
    submit(page, "#platform-form", shot="13-console-platform-key-lv")
    key = page.css("#new-key").text
    assert key.startswith("sgpk_")
    form_url = (
        f"{site.url}/v1/initiatives/{site.initiative['id']}/form?given_name=A&surname=B"
        "&personal_code=321234-56789&date=2026-12-04"
    )
    auth = {"Authorization": f"Bearer {key}"}
    assert requests.get(form_url, headers=auth, timeout=10).status_code == 200
    page.open("/console/platforms")
    assert not page.all("#new-key")  # shown once only
    assert key not in page.driver.page_source

    # Batches: export, a forged acknowledgement refused, push to the receiver (acknowledged).
    page.open("/console/batches")
    page.click(page.css(f"button[data-initiative='{site.initiative['id']}']"))
    rows = page.all("#console-batches tbody tr")
    assert len(rows) == 1
    batch_id = rows[0].get_attribute("data-batch")
    assert rows[0].find_element(By.CSS_SELECTOR, "[data-field=status]").text == "created"
    page.screenshot("14-console-batches-lv")
    rows[0].find_element(By.CSS_SELECTOR, "summary").click()
    rows[0].find_element(By.CSS_SELECTOR, "textarea").send_keys("not a signed note")
    page.click(rows[0].find_element(By.CSS_SELECTOR, "details button[type=submit]"))
    assert message(page).get_attribute("data-code") == "ACKNOWLEDGEMENT_INVALID"
    row = page.css(f"tr[data-batch='{batch_id}']")
    page.click(row.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]"))
    row = page.css(f"tr[data-batch='{batch_id}']")
    assert row.find_element(By.CSS_SELECTOR, "[data-field=status]").text == "acknowledged"

    # Retention: with a zero-day period the acknowledged batch is due, and purged.
    site.app.config["RETENTION_DAYS"] = 0
    page.open("/console/retention", shot="15-console-retention-lv")
    page.click(page.css("form.inline button.danger"))
    assert "BATCH_RECORDS" in page.css("#purged").text
    page.open("/console/batches")
    row = page.css(f"tr[data-batch='{batch_id}']")
    assert row.find_element(By.CSS_SELECTOR, "[data-field=status]").text == "purged"

    # Revoke the platform: its key stops working at once.
    page.open("/console/platforms")
    row = page.css("tr[data-platform='konsoles-platforma']")
    page.click(row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    row = page.css("tr[data-platform='konsoles-platforma']")
    assert row.find_element(By.CSS_SELECTOR, "[data-field=status]").text == "atsaukta"
    assert not row.find_elements(By.CSS_SELECTOR, "button")
    assert requests.get(form_url, headers=auth, timeout=10).status_code == 401

    # Log out: the console asks for the token again.
    page.click(page.css(".console-bar button[type=submit]"))
    assert page.all("#login-form")
    page.open("/console/initiatives")
    assert page.all("#login-form")
