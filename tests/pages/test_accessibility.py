"""WCAG 2.1 AA basics that can be checked without a browser: text colour pairs of site.css meet
4.5:1 (1.4.3), every form control has a label (1.3.1, 4.1.2), each page has its language and
one h1 (3.1.1), and a skip link comes first (2.4.1)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

import sigsvc.pages

CSS = (Path(sigsvc.pages.__file__).parent / "static" / "site.css").read_text()
# (text, background) pairs the stylesheet actually uses for text.
PAIRS = [
    ("ink", "paper"),
    ("muted", "paper"),
    ("muted", "band"),
    ("link", "paper"),
    ("accent", "paper"),
    ("ok", "ok-bg"),
    ("bad", "bad-bg"),
    ("warn", "warn-bg"),
    ("ok", "paper"),
    ("warn", "paper"),
    ("bad", "paper"),
]


def _colour(name: str) -> tuple[float, float, float]:
    found = re.search(rf"--{re.escape(name)}:\s*#([0-9a-fA-F]{{6}})", CSS)
    assert found, name
    value = found.group(1)
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize(("text", "background"), PAIRS)
def test_text_contrast_is_at_least_4_5(text: str, background: str) -> None:
    lighter, darker = sorted((_luminance(_colour(text)), _luminance(_colour(background))))[::-1]
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5


def test_white_on_the_header_and_buttons() -> None:
    white = _luminance((1.0, 1.0, 1.0))
    assert (white + 0.05) / (_luminance(_colour("accent")) + 0.05) >= 4.5


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.h1 = 0
        self.controls: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self.first_link: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append(a)
        elif tag == "a" and self.first_link is None:
            self.first_link = a.get("href")


@pytest.mark.parametrize("path", ["/", "/log", "/receipt", "/console/", "/?lang=en"])
def test_pages_have_language_one_h1_labels_and_a_skip_link(client: FlaskClient, path: str) -> None:
    page = _Page()
    page.feed(client.get(path).get_data(as_text=True))
    assert page.lang in ("lv", "en")
    assert page.h1 == 1
    assert page.first_link == "#main"
    for control in page.controls:
        assert (
            control.get("id") in page.labels
            or control.get("aria-label")
            or control.get("aria-labelledby")
        ), control


def test_console_pages_label_every_control(client: FlaskClient, admin_token: str) -> None:
    assert client.post("/console/login", data={"token": admin_token}).status_code == 303
    for path in ("/console/initiatives", "/console/platforms"):
        page = _Page()
        page.feed(client.get(path).get_data(as_text=True))
        assert page.h1 == 1 and page.first_link == "#main", path
        assert page.controls, path
        for control in page.controls:
            assert control.get("id") in page.labels or control.get("aria-label"), (path, control)
