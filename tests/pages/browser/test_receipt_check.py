"""“Check my receipt” in a real browser: a valid receipt turns green; one changed byte in each
part turns red with its reason; another log's key is refused; a log rewritten under the same
key is caught; and the server sees nothing of the receipt but the two checkpoint sizes."""

from __future__ import annotations

import base64
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from audit.checkpoint import Checkpoint
from audit.note import Signer, sign
from audit.note import parse as parse_note
from audit.receipt import Receipt
from certification.testpki.sign import TEST_INITIATIVE_TEXT
from crypto.form import Regime
from sigsvc import credentials, db, registry, services
from sigsvc.app import create_app
from tests.pages.browser.conftest import Browser, Site, serve

TEST_INITIATIVE = registry.NewInitiative(
    regime=Regime.ART22_BILL,
    registration_number="TEST-2026/1",
    title="Grozījumi Testa likumā",
    full_text=TEST_INITIATIVE_TEXT.decode(),
    starts_on=date(2026, 1, 1),
    ends_on=date(2026, 12, 31),
)

EM_DASH = "\u2014 "


def _flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def change_proof(text: str) -> str:
    receipt = Receipt.parse(text.encode())
    assert receipt.proof, "needs a tree of more than one entry"
    changed = (_flip(receipt.proof[0]), *receipt.proof[1:])
    return Receipt(receipt.index, changed, receipt.checkpoint_note, receipt.extra).encode().decode()


def change_root(text: str) -> str:
    head, _, note = text.partition("\n\n")
    origin, size, root, rest = note.split("\n", 3)
    flipped = base64.b64encode(_flip(base64.b64decode(root))).decode()
    return f"{head}\n\n{origin}\n{size}\n{flipped}\n{rest}"


def change_signature(text: str) -> str:
    head, _, rest = text.rpartition(EM_DASH)
    name, blob = rest.strip("\n").split(" ")
    raw = base64.b64decode(blob)
    return f"{head}{EM_DASH}{name} {base64.b64encode(_flip(raw, 4 + 10)).decode()}\n"


def change_index(text: str) -> str:
    receipt = Receipt.parse(text.encode())
    size = Checkpoint.from_text(parse_note(receipt.checkpoint_note).text).size
    other = receipt.index + 1 if receipt.index + 1 < size else receipt.index - 1
    old, new = f"\nindex {receipt.index}\n", f"\nindex {other}\n"
    assert len(old) == len(new)  # one changed byte
    return text.replace(old, new, 1)


def resign_with_other_key(text: str) -> str:
    receipt = Receipt.parse(text.encode())
    note = parse_note(receipt.checkpoint_note)
    other = Signer.generate(note.signatures[0].name)  # same name, another key
    return (
        Receipt(receipt.index, receipt.proof, sign(note.text, [other]), receipt.extra)
        .encode()
        .decode()
    )


def check(
    page: Browser, receipt: str | None = None, upload: Path | None = None, site: Site | None = None
) -> tuple[Any, int]:
    """Open the page, give it the receipt (file upload or pasted), press Check, wait.
    Returns the result element and how many requests the site had seen at the click."""
    page.open("/receipt")
    if upload is not None:
        page.css("#receipt-file").send_keys(str(upload))
        page.wait_for(lambda d: page.css("#receipt-text").get_property("value"))
    else:
        # Setting the field directly is what pasting does; typing 1 kB key by key is slow.
        field = page.css("#receipt-text")
        page.driver.execute_script("arguments[0].value = arguments[1]", field, receipt)
    at_click = len(site.requests) if site is not None else 0
    page.css("#check").click()
    page.wait_for(
        lambda d: page.css("#result").get_attribute("data-outcome") in ("valid", "invalid")
    )
    page.check()
    return page.css("#result"), at_click


@pytest.fixture
def grown(site: Site, container: Any) -> tuple[str, int, int]:
    """A receipt, then more entries and a newer checkpoint: (receipt, its size, current size)."""
    receipt = site.receipt("valid_p384")
    size = Checkpoint.from_text(
        parse_note(Receipt.parse(receipt.encode()).checkpoint_note).text
    ).size
    answer = site.post_signature(container("not_yet_valid"))
    assert answer.status_code == 422
    current = Checkpoint.from_text(parse_note(site.get("/v1/log/checkpoint").content).text).size
    assert current > size
    return receipt, size, current


def test_valid_receipt_turns_green_and_only_two_sizes_reach_the_server(
    page: Browser, site: Site, grown: tuple[str, int, int], tmp_path: Path
) -> None:
    receipt, size, current = grown
    upload = tmp_path / "receipt.tlog"
    upload.write_text(receipt)
    page.open("/receipt", shot="06-receipt-lv")
    result, at_click = check(page, upload=upload, site=site)
    assert result.get_attribute("data-outcome") == "valid", result.text
    assert "Kvīts ir derīga" in result.text
    assert f"{size}" in result.text and f"{current}" in result.text
    page.screenshot("07-receipt-valid-lv")
    # Everything the browser sent from the click on: the current checkpoint (no parameters),
    # then one consistency proof between the two sizes; no body, nothing else.
    sent = site.requests[at_click:]
    assert [(method, uri) for method, uri, _ in sent] == [
        ("GET", "/v1/log/checkpoint"),
        ("GET", f"/v1/log/proofs/consistency?old={size}&new={current}"),
    ]
    assert all(body == b"" for _, _, body in sent)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (change_proof, "NOT_INCLUDED"),
        (change_root, "BAD_SIGNATURE"),
        (change_signature, "BAD_SIGNATURE"),
        (change_index, "NOT_INCLUDED"),
        (resign_with_other_key, "WRONG_KEY"),
    ],
    ids=["proof", "root", "signature", "index", "other-log-key"],
)
def test_changed_receipt_turns_red_with_its_reason(
    page: Browser, site: Site, tamper: Any, reason: str
) -> None:
    receipt = site.receipt("valid_rsa")
    changed = tamper(receipt)
    assert changed != receipt
    result, _ = check(page, changed)
    assert result.get_attribute("data-outcome") == "invalid", result.text
    assert result.get_attribute("data-reason") == reason, result.text
    assert reason in result.text
    if reason == "BAD_SIGNATURE" and tamper is change_signature:
        page.screenshot("08-receipt-bad-signature-lv")


def test_receipt_checked_against_a_rewritten_log_turns_red(
    page: Browser, site: Site, container: Any, _sqlite_template: Path, tmp_path: Path
) -> None:
    """A second log under the same key, with other entries: the receipt's own proof holds,
    but the current log does not contain its tree."""
    receipt = site.receipt("valid_p384")
    path = tmp_path / "rewritten.sqlite"
    shutil.copyfile(_sqlite_template, path)
    other = create_app(
        {**site.app.config, "DATABASE_URL": f"sqlite:///{path}"},
        instance_path=str(tmp_path / "rewritten"),
    )
    try:
        with db.session_scope(other) as session:
            made = registry.register_initiative(
                session, services.log_service(other), TEST_INITIATIVE
            )
            _, key = credentials.create_platform(
                session, services.log_service(other), "rewriter", [made.id]
            )
        client = other.test_client()
        for signer in ("valid_rsa", "valid_p384", "expired", "revoked", "not_yet_valid"):
            client.post(
                f"/v1/initiatives/{made.id}/signatures",
                data=container(signer),
                headers={
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/vnd.etsi.asic-e+zip",
                    "Idempotency-Key": signer,
                },
            )
        with serve(other) as url:
            page.base = url
            result, _ = check(page, receipt)
            assert result.get_attribute("data-reason") == "LOG_REWRITTEN", result.text
            page.screenshot("09-receipt-log-rewritten-lv")
    finally:
        services.close(other)
        db.engine_of(other).dispose()
