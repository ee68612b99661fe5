"""The end-to-end demo of `make run`, as a platform would do it, over HTTP only.

render form (GET .../form) -> sign it (TEST PKI: real XAdES, time stamp and OCSP from the local
responders) -> POST .../signatures -> GET /v1/signatures/{id} until the receipt is there ->
`sigaudit verify-receipt` offline with the log key published in /readyz.

    python -m certification.demo_flow BASE_URL INSTANCE_DIR

TEST ONLY: the signers are the test PKI's (their private keys are public).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from certification.testpki import make_edoc, serve_responders
from certification.testpki.pki import cert
from certification.testpki.sign import FORM_FILENAME
from crypto.form import RIGA

SIGNERS = ("valid_rsa", "valid_p384", "no_prefix")  # tried in order; one signature each
ASICE = "application/vnd.etsi.asic-e+zip"


def step(n: int, text: str) -> None:
    print(f"\n[{n}] {text}", flush=True)


def _wait_ready(base: str) -> dict[str, Any]:
    for _ in range(600):
        try:
            response = requests.get(f"{base}/readyz", timeout=5)
            if response.status_code == 200:
                ready: dict[str, Any] = response.json()
                return ready
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("demo: the service did not become ready")


def _identity(label: str) -> tuple[str, str, str]:
    subject = cert(label).subject.native
    return (
        subject["given_name"],
        subject["surname"],
        subject["serial_number"].removeprefix("PNOLV-"),
    )


def run(base: str, instance: Path) -> int:
    lines = (instance / "demo.env").read_text().splitlines()
    env = dict(shlex.split(line)[0].split("=", 1) for line in lines if line)
    auth = {"Authorization": f"Bearer {env['PLATFORM_KEY']}"}
    iid = env["INITIATIVE_ID"]
    ready = _wait_ready(base)
    intake = ready.get("intake", {})
    print("\n=== sigsvc end-to-end demo (TEST PKI: not real signatures) ===", flush=True)
    print(f"log origin {intake.get('log_origin')}; log key {intake.get('log_key')}")
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.astimezone(RIGA).date()
    with serve_responders():
        for label in SIGNERS:
            given, surname, code = _identity(label)
            step(1, f"render the signature form for {given} {surname} ({label})")
            form = requests.get(
                f"{base}/v1/initiatives/{iid}/form",
                params={
                    "given_name": given,
                    "surname": surname,
                    "personal_code": code,
                    "date": today.isoformat(),
                },
                headers=auth,
                timeout=10,
            )
            form.raise_for_status()
            print(form.text, end="")
            step(2, "sign it: XAdES-LT .edoc (qualified time stamp + OCSP from 127.0.0.1)")
            edoc = make_edoc(form.content, FORM_FILENAME, label, level="LT", signing_time=now)
            print(f"{len(edoc)} bytes, sha256 {hashlib.sha256(edoc).hexdigest()}")
            step(3, f"POST /v1/initiatives/{iid}/signatures")
            posted = requests.post(
                f"{base}/v1/initiatives/{iid}/signatures",
                data=edoc,
                headers={**auth, "Content-Type": ASICE, "Idempotency-Key": f"demo-{label}-{today}"},
                timeout=60,
            )
            print(posted.status_code, posted.text.strip())
            if posted.status_code == 201:
                break
            if posted.status_code != 409:
                return 1
            print("(this demo signer has signed already: first valid wins; next signer)")
        else:
            print("\nEvery demo signer has signed this initiative; delete instance/ to start over.")
            return 0
    sid = posted.json()["id"]
    step(4, f"GET /v1/signatures/{sid} until a checkpoint covers the leaf")
    receipt = None
    for _ in range(100):
        doc = requests.get(f"{base}/v1/signatures/{sid}", headers=auth, timeout=10).json()
        receipt = doc.get("receipt")
        if receipt:
            break
        time.sleep(0.2)
    if not receipt:
        print("no receipt yet")
        return 1
    receipt_path = instance / "demo-receipt.tlog"
    receipt_path.write_text(receipt, encoding="utf-8")
    print(receipt, end="")
    print(f"(saved to {receipt_path})")
    step(5, "verify the receipt offline: sigaudit verify-receipt")
    sigaudit = shutil.which("sigaudit") or str(Path(sys.executable).parent / "sigaudit")
    command = [
        sigaudit,
        "verify-receipt",
        str(receipt_path),
        "--key",
        intake["log_key"],
        "--origin",
        intake["log_origin"],
    ]
    print("$ " + " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    print((result.stdout + result.stderr).strip())
    step(6, f"public counts: GET /v1/public/initiatives/{iid}")
    counts = requests.get(f"{base}/v1/public/initiatives/{iid}", timeout=10).json()["counts"]
    print(json.dumps(counts))
    print("\n=== demo done; the service keeps running (Ctrl-C stops it) ===\n", flush=True)
    return result.returncode


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], Path(sys.argv[2])))
