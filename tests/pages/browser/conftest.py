"""Browser tests of the pages: Debian's chromium driven by Selenium (chromium-driver) against
the app behind a real HTTP server on 127.0.0.1, with real signatures from the test PKI.

    browser        one headless chromium per test session (.ci/run installs it)
    site           the live server with intake, seal and the reference receiver, seeded with
                   real signatures; records every request it serves
    Page helpers   open(path) loads a page, fails on any CSP violation or script error in the
                   browser's console, and saves a full-page screenshot under SCREENSHOTS

Screenshots go to $SIGSVC_SCREENSHOTS or build/screenshots/ in the checkout.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from sigsvc import credentials, db, services
from tests.export.conftest import (  # noqa: F401 (fixtures)
    intake_overrides,
    receiver,
    receiver_signer,
    seal_files,
)
from tests.signatures.conftest import (  # noqa: F401 (fixtures)
    _close_verifier_event_loop,
    app,
    container,
    initiative,
    responders,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path(
    os.environ.get("SIGSVC_SCREENSHOTS") or Path(__file__).parents[3] / "build" / "screenshots"
)
# Accepted by the test PKI: two different people; rejected: each for its own reason.
ACCEPTED = ("valid_p384", "valid_rsa")
REJECTED = {"revoked": "CERT_REVOKED", "expired": "CERT_EXPIRED"}


@pytest.fixture
def database_url(_sqlite_template: Path, tmp_path: Path) -> str:
    """Browser tests run on SQLite only (the page queries run on both backends in
    test_pages_server.py)."""
    path = tmp_path / "pages.sqlite"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


# --- the browser ------------------------------------------------------------------------


class BrowserProblem(AssertionError):
    """The page broke its CSP or threw a script error."""


@dataclass
class Browser:
    driver: Any
    base: str = ""
    visited: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Console entries since the last call that show a CSP violation or a script error."""
        found = []
        for entry in self.driver.get_log("browser"):
            message = str(entry.get("message", ""))
            if "Content Security Policy" in message or "Uncaught" in message:
                found.append(message)
        return found

    def open(self, path: str, shot: str | None = None) -> Any:
        self.problems()  # forget what earlier pages logged
        self.driver.get(self.base + path)
        self.visited.append(path)
        self.check(shot)
        return self.driver

    def check(self, shot: str | None = None) -> None:
        problems = self.problems()
        if problems:
            raise BrowserProblem("\n".join(problems))
        if shot:
            self.screenshot(shot)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, max(int(height) + 140, 720))  # + window chrome
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1280, 900)
        return path

    def click(self, element: Any, shot: str | None = None) -> None:
        """Click something that loads a new page; wait for the new page, then check it."""
        from selenium.common.exceptions import WebDriverException

        old = self.css("html")
        element.click()

        def gone(_driver: Any) -> bool:
            try:
                old.is_enabled()
            except WebDriverException:  # stale, or "node does not belong to the document"
                return True  # (chromium says the latter while it swaps documents)
            return False

        self.wait_for(gone)
        self.wait_for(lambda d: d.execute_script("return document.readyState") == "complete")
        self.check(shot)

    def css(self, selector: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def wait_for(self, predicate: Callable[[Any], Any], timeout: float = 30) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(predicate)


@pytest.fixture(scope="session")
def _driver() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        reason = "Debian chromium and chromium-driver are not installed (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=lv",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(_driver: Any) -> Iterator[Browser]:
    _driver.delete_all_cookies()
    yield Browser(_driver)
    _driver.delete_all_cookies()


# --- the live site ----------------------------------------------------------------------


@dataclass
class Site:
    app: Flask
    url: str
    initiative: dict[str, Any]
    admin_token: str
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)  # method, URI, body
    signatures: dict[str, str] = field(default_factory=dict)  # signer -> signature id

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url + path, timeout=30, **kwargs)

    def post_signature(self, body: bytes) -> Any:
        """Through the app in this thread: crypto keeps one event loop per verifying thread,
        and only the main thread's is closed at the end (the live server's request threads
        would leave theirs open)."""
        return self.app.test_client().post(
            f"/v1/initiatives/{self.initiative['id']}/signatures",
            data=body,
            headers={
                "Authorization": f"Bearer {self.initiative['key']}",
                "Content-Type": "application/vnd.etsi.asic-e+zip",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )

    def receipt(self, signer: str) -> str:
        answer = self.get(
            f"/v1/signatures/{self.signatures[signer]}",
            headers={"Authorization": f"Bearer {self.initiative['key']}"},
        )
        answer.raise_for_status()
        receipt: str = answer.json()["receipt"]
        assert receipt, "no checkpoint covers the signature yet"
        return receipt

    def log_vkey(self) -> str:
        return str(self.get("/readyz").json()["intake"]["log_key"])


class _Recorder:
    """WSGI middleware keeping (method, URI, body) of every request, for privacy checks."""

    def __init__(self, wrapped: Any, into: list[tuple[str, str, bytes]]) -> None:
        self.wrapped, self.into = wrapped, into

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        query = environ.get("QUERY_STRING", "")
        uri = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        self.into.append((environ["REQUEST_METHOD"], uri, body))
        return self.wrapped(environ, start_response)


@contextlib.contextmanager
def serve(application: Flask) -> Iterator[str]:
    """`application` behind a threaded werkzeug server on 127.0.0.1; yields its base URL."""
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def site(
    app: Flask,  # noqa: F811
    initiative: dict[str, Any],  # noqa: F811
    container: Callable[..., bytes],  # noqa: F811
) -> Iterator[Site]:
    with db.session_scope(app) as session:
        token = credentials.create_admin_token(session, services.log_service(app), "console-tests")[
            1
        ]
    recorded: list[tuple[str, str, bytes]] = []
    app.wsgi_app = _Recorder(app.wsgi_app, recorded)  # type: ignore[method-assign]
    with serve(app) as url:
        running = Site(app, url, initiative, token, recorded)
        for signer in ACCEPTED:
            answer = running.post_signature(container(signer))
            assert answer.status_code == 201, answer.text
            running.signatures[signer] = answer.json["id"]
        for signer, reason in REJECTED.items():
            answer = running.post_signature(container(signer))
            assert answer.status_code == 422 and reason in answer.text, answer.text
        yield running


@pytest.fixture
def page(browser: Browser, site: Site) -> Browser:
    browser.base = site.url
    return browser


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
