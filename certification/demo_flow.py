"""The end-to-end demo of `make run`, as a platform and the operator would do it, over HTTP only.

render form (GET .../form) -> sign it (TEST PKI: real XAdES, time stamp and OCSP from the local
responders) -> POST .../signatures -> a sealed batch -> a second signature -> GET
/v1/signatures/{id} until the receipt is there -> `sigaudit verify-receipt` offline with the log
key published in /readyz -> `sigaudit consistency` from the previous run's checkpoint (kept in
<instance>/demo) to this run's. Each run is a new round: `sigsvc demo-run` gives it a fresh
initiative once the last one has signatures, so a rerun shows all of it again.

    python -m certification.demo_flow BASE_URL INSTANCE_DIR

TEST ONLY: the signers are the test PKI's (their private keys are public).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
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
RECEIVER = ("127.0.0.1", 8090)  # the demo's SIGSVC_HANDOVER_URL (sigsvc/cli/demo.py)


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


def _keep_for_the_reader(
    base: str,
    iid: str,
    auth: dict[str, str],
    instance: Path,
    edoc: bytes,
    label: str,
    today: Any,
    now: datetime,
) -> None:
    """README's walk-through posts these: the accepted container (a replay, or a DUPLICATE
    under a new Idempotency-Key) and the same signer's signed withdrawal form."""
    given, surname, code = _identity(label)
    form = requests.get(
        f"{base}/v1/initiatives/{iid}/form",
        params={"given_name": given, "surname": surname, "personal_code": code,
                "date": today.isoformat(), "kind": "withdrawal"},
        headers=auth,
        timeout=10,
    )  # fmt: skip
    form.raise_for_status()
    withdrawal = make_edoc(form.content, FORM_FILENAME, label, level="LT", signing_time=now)
    folder = instance / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "signed.edoc").write_bytes(edoc)
    (folder / "withdrawal.edoc").write_bytes(withdrawal)
    print(f"(kept for you: {folder / 'signed.edoc'} and {folder / 'withdrawal.edoc'}, README)")


def _sign_and_post(
    base: str, iid: str, auth: dict[str, str], label: str, now: datetime, first: int
) -> tuple[requests.Response, bytes]:
    """Steps first..first+2: render the form for `label`, sign it, POST it."""
    given, surname, code = _identity(label)
    step(first, f"render the signature form for {given} {surname} ({label})")
    form = requests.get(
        f"{base}/v1/initiatives/{iid}/form",
        params={"given_name": given, "surname": surname, "personal_code": code,
                "date": now.astimezone(RIGA).date().isoformat()},
        headers=auth,
        timeout=10,
    )  # fmt: skip
    form.raise_for_status()
    print(form.text, end="")
    step(first + 1, "sign it: XAdES-LT .edoc (qualified time stamp + OCSP from 127.0.0.1)")
    edoc = make_edoc(form.content, FORM_FILENAME, label, level="LT", signing_time=now)
    print(f"{len(edoc)} bytes, sha256 {hashlib.sha256(edoc).hexdigest()}")
    step(first + 2, f"POST /v1/initiatives/{iid}/signatures")
    posted = requests.post(
        f"{base}/v1/initiatives/{iid}/signatures",
        data=edoc,
        headers={**auth, "Content-Type": ASICE, "Idempotency-Key": f"demo-{label}-{iid}"},
        timeout=60,
    )
    print(posted.status_code, posted.text.strip())
    return posted, edoc


def _consistency(base: str, instance: Path, intake: dict[str, Any], sigaudit: str) -> int:
    """The previous run's checkpoint (kept in instance/demo) against today's: the log only
    grew. Keeps today's for the next run."""
    folder = instance / "demo"
    previous, latest = folder / "checkpoint.previous", folder / "checkpoint"
    current = requests.get(f"{base}/checkpoint", timeout=10)
    current.raise_for_status()
    print(current.text, end="")
    if not latest.exists():
        latest.write_text(current.text, encoding="utf-8")
        print(f"(first run: kept as {latest}; the next `make run` proves the log only grew since)")
        return 0
    latest.replace(previous)
    latest.write_text(current.text, encoding="utf-8")
    old_size, new_size = (int(note.read_text().splitlines()[1]) for note in (previous, latest))
    proof = requests.get(
        f"{base}/v1/log/proofs/consistency",
        params={"old": old_size, "new": new_size},
        timeout=10,
    )
    proof.raise_for_status()
    proof_path = folder / "consistency.proof"
    proof_path.write_text("".join(h + "\n" for h in proof.json()["proof"]), encoding="utf-8")
    print(f"previous run's checkpoint: size {old_size}; now: size {new_size}; "
          f"proof of {len(proof.json()['proof'])} hashes")  # fmt: skip
    command = [sigaudit, "consistency", str(previous), str(latest), "--proof", str(proof_path),
               "--key", intake["log_key"]]  # fmt: skip
    print("$ " + " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    print((result.stdout + result.stderr).strip())
    return result.returncode


def _push(instance: Path, env: dict[str, str], batch_id: str) -> int:
    """`sigsvc batches push` to the reference receiver (started here for the push, on the
    README's port and database, so the reader's later pushes continue its chain of batches)."""
    receiver = subprocess.Popen(
        [sys.executable, "-m", "certification.receiver", "--key-file", env["RECEIVER_KEY_FILE"],
         "--log-key", env["LOG_VKEY"], "--seal-anchor", env["SEAL_CA"],
         "--db", str(instance / "receiver.sqlite")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(RECEIVER, timeout=1):
                break
            time.sleep(0.1)
        sigsvc = shutil.which("sigsvc") or str(Path(sys.executable).parent / "sigsvc")
        print(f"$ sigsvc batches push {batch_id}")
        pushed = subprocess.run(
            [sigsvc, "batches", "push", batch_id],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        if pushed.returncode == 0:
            print(json.dumps({k: json.loads(pushed.stdout).get(k) for k in ("status", "sequence")}))
        else:
            print(pushed.stderr.strip())
        return pushed.returncode
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


def run(base: str, instance: Path) -> int:
    """Every run is a whole new round (`sigsvc demo-run` gives each run an initiative nobody
    has signed): signatures accepted, a sealed batch, a receipt, and a consistency proof from the
    previous run's checkpoint to this one's."""
    lines = (instance / "demo.env").read_text().splitlines()
    env = dict(shlex.split(line)[-1].split("=", 1) for line in lines if line)  # export N=V
    auth = {"Authorization": f"Bearer {env['PLATFORM_KEY']}"}
    admin = {"Authorization": f"Bearer {env['ADMIN_TOKEN']}"}
    iid = env["INITIATIVE_ID"]
    ready = _wait_ready(base)
    intake = ready.get("intake", {})
    print("\n=== sigsvc end-to-end demo (TEST PKI: not real signatures) ===", flush=True)
    print(f"log origin {intake.get('log_origin')}; log key {intake.get('log_key')}")
    now = datetime.now(UTC).replace(microsecond=0)
    batch_signer, reader_signer = SIGNERS[1], SIGNERS[0]
    with serve_responders():
        posted, _ = _sign_and_post(base, iid, auth, batch_signer, now, 1)
        if posted.status_code != 201:
            return 1
        step(4, f"a sealed batch for CVK: POST /v1/initiatives/{iid}/batches (admin), pushed")
        batch = requests.post(f"{base}/v1/initiatives/{iid}/batches", headers=admin, timeout=120)
        print(batch.status_code, json.dumps({k: batch.json().get(k) for k in
                                             ("id", "sequence", "count", "status")}))  # fmt: skip
        if batch.status_code != 201 or _push(instance, env, batch.json()["id"]) != 0:
            return 1
        posted, edoc = _sign_and_post(base, iid, auth, reader_signer, now, 5)
        if posted.status_code != 201:
            return 1
        today = now.astimezone(RIGA).date()
        _keep_for_the_reader(base, iid, auth, instance, edoc, reader_signer, today, now)
    sid = posted.json()["id"]
    step(8, f"GET /v1/signatures/{sid} until a checkpoint covers the leaf")
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
    step(9, "verify the receipt offline: sigaudit verify-receipt")
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
    step(10, "the log only grew: GET /checkpoint, consistency proof from the previous run's")
    consistent = _consistency(base, instance, intake, sigaudit)
    step(11, f"public counts: GET /v1/public/initiatives/{iid}")
    counts = requests.get(f"{base}/v1/public/initiatives/{iid}", timeout=10).json()["counts"]
    print(json.dumps(counts))
    print("\n=== demo done; the service keeps running (Ctrl-C stops it) ===\n", flush=True)
    return result.returncode or consistent


def main(base: str, instance: Path) -> int:
    # `sigsvc demo-run` ends us with SIGTERM: exit through the finally blocks (the receiver
    # started for a push, the responders) instead of dying past them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    code = run(base, instance)
    # Batches are sealed XAdES-LT with the test PKI's TSA and OCSP: keep the responders up
    # for the reader's `sigsvc batches create` until `sigsvc demo-run` stops (it ends us).
    with serve_responders():
        print("(TEST PKI responders stay up on 127.0.0.1 for batches until Ctrl-C)", flush=True)
        signal.pause()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
