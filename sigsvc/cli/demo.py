"""`sigsvc demo-run` (what `make run` does): migrate, seed demo credentials, serve on 8080.

Idempotent: the demo's clear tokens live in <instance>/demo-credentials.json (mode 0600) so a
second run prints the same ones; the database itself holds only their digests. This file is a
demo convenience: production admins use SIGSVC_ADMIN_TOKEN or `sigsvc tokens create-admin`.
Once the demo initiative has signatures, the next run registers a new round (DEMO-2026/1-2,
...) and adds it to the demo platform, so a rerun's demo flow shows everything again.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from audit.note import Signer as NoteSigner
from crypto.form import RIGA, Regime
from sigsvc import credentials, db, registry, services
from sigsvc.db.models import AdminToken, Initiative, Platform
from sigsvc.db.models.intake import Signature
from sigsvc.log.service import LogService
from sigsvc.web.auth import token_digest

DEMO_REGISTRATION_NUMBER = "DEMO-2026/1"
DEMO_PLATFORM = "demo-platform"
DEMO_PERSONAL_CODE = "321234-56789"  # new-format (32...) code, fictional
DEMO_TEXT = (
    'Likumprojekts "Grozījumi demonstrācijas likumā"\n\n'
    "1. pants. Šis ir demonstrācijas teksts; tas nav īsts likumprojekts.\n"
)


@click.command("demo-run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--seed-only", is_flag=True, help="migrate and seed, print, do not serve")
@click.option(
    "--flow/--no-flow",
    default=True,
    show_default=True,
    help="run the end-to-end demo (form, sign, post, receipt, sigaudit) once the server is up",
)
@with_appcontext
def command(host: str, port: int, workers: int, seed_only: bool, flow: bool) -> None:
    """Migrate the configured database, ensure demo data, serve with gunicorn."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    db.upgrade(app.config["DATABASE_URL"])
    creds = ensure_demo_data(app)
    base = f"http://{host}:{port}"
    configured = ensure_demo_intake(app)
    write_env_file(app, creds, base)
    print_instructions(app, creds, base)
    for line in configured:
        click.echo(line)
    if seed_only:
        return
    demo = None
    if flow:  # the platform side of the demo, over HTTP only (certification/demo_flow.py)
        demo = subprocess.Popen(
            [sys.executable, "-m", "certification.demo_flow", base, app.instance_path],
            stdin=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
    try:
        serve(host, port, workers)
    finally:
        if demo is not None and demo.poll() is None:  # server stopped first: stop the demo
            demo.terminate()
            demo.wait(timeout=10)


TESTPKI = Path(__file__).resolve().parents[2] / "certification" / "testpki" / "generated"
DEMO_LOG_ORIGIN = "demo.sigsvc.invalid/log"


def _random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _log_key() -> str:
    return NoteSigner.generate("sigsvc-demo").skey


def _secret_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def ensure_demo_intake(app: Flask) -> list[str]:
    """Demo keys (in <instance>/demo-keys, made once) and the TEST trusted list, for every
    variable the environment leaves unset; gunicorn's workers read them from os.environ."""
    keys = Path(app.instance_path) / "demo-keys"
    wanted = {
        "SIGSVC_KEK_FILE": (keys / "kek.b64", _random_key),
        "SIGSVC_PSEUDONYM_KEY_FILE": (keys / "pseudonym.b64", _random_key),
        "SIGSVC_LOG_KEY_FILE": (keys / "log.key", _log_key),
    }
    lines = ["Signature intake (demo configuration):"]
    for name, (path, make) in wanted.items():
        if os.environ.get(name) or os.environ.get(name.removesuffix("_FILE")):
            continue
        if not path.exists():
            _secret_file(path, make() + "\n")
        os.environ[name] = str(path)
        lines.append(f"  {name}={path}")
    if not os.environ.get("SIGSVC_TRUSTED_LISTS") and not os.environ.get("SIGSVC_ANCHORS"):
        # The TEST list, re-issued now: the checked-in one's NextUpdate is a fixed test date,
        # and /readyz rightly refuses a list past its NextUpdate.
        from certification.testpki.tl import build_trusted_list

        now = datetime.now(UTC).replace(microsecond=0)
        fresh = keys / "trusted-list.xml"
        fresh.parent.mkdir(parents=True, exist_ok=True)
        fresh.write_bytes(
            build_trusted_list(
                issued=now - timedelta(hours=1), next_update=now + timedelta(days=90)
            )
        )
        os.environ["SIGSVC_TRUSTED_LISTS"] = str(fresh)
        os.environ["SIGSVC_TL_SIGNERS"] = str(TESTPKI / "certs" / "tl_operator.pem")
        # The TEST PKI's responders listen on 127.0.0.1 (the demo serves them): revocation
        # fetches must reach them (TEST ONLY; production fetches public addresses only).
        os.environ["SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES"] = "1"
        lines.append("  SIGSVC_TEST_FETCH_PRIVATE_ADDRESSES=1  (TEST responders on 127.0.0.1)")
        lines.append(f"  SIGSVC_TRUSTED_LISTS={os.environ['SIGSVC_TRUSTED_LISTS']}  (TEST list)")
        lines.append(f"  SIGSVC_TL_SIGNERS={os.environ['SIGSVC_TL_SIGNERS']}")
    os.environ.setdefault("SIGSVC_LOG_ORIGIN", DEMO_LOG_ORIGIN)
    lines.append(f"  SIGSVC_LOG_ORIGIN={os.environ['SIGSVC_LOG_ORIGIN']}")
    lines += _demo_batches(keys)
    return lines


DEMO_RECEIVER_PORT = 8090
_EXPORTED = {  # what ensure_demo_intake may have chosen; the CLI needs the same
    "SIGSVC_KEK_FILE",
    "SIGSVC_KEK",
    "SIGSVC_PSEUDONYM_KEY_FILE",
    "SIGSVC_PSEUDONYM_KEY",
    "SIGSVC_LOG_KEY_FILE",
    "SIGSVC_LOG_ORIGIN",
    "SIGSVC_TRUSTED_LISTS",
    "SIGSVC_TL_SIGNERS",
    "SIGSVC_ANCHORS",
    "SIGSVC_BATCH_SEAL_KEY",
    "SIGSVC_BATCH_SEAL_CERT",
    "SIGSVC_BATCH_TSA_URL",
    "SIGSVC_HANDOVER_URL",
    "SIGSVC_RECEIVER_KEY",
}


def _demo_batches(keys: Path) -> list[str]:
    """A TEST operator seal (so batches can be made) and the reference receiver's key and URL
    (so `sigsvc batches push` has somewhere to go: `sigsvc-receiver`, README)."""
    if os.environ.get("SIGSVC_BATCH_SEAL_KEY"):
        return []
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from certification.sealpki import operator_seal_files
    from certification.testpki.pki import ARCH, BASE_URL

    key, chain, ca_der = keys / "seal.key.pem", keys / "seal.chain.pem", keys / "seal-ca.der"
    if not key.exists():  # the test PKI's operator seal: its OCSP is the demo's responders'
        made_key, made_chain, anchor = operator_seal_files(keys)
        made_key.replace(key)
        made_chain.replace(chain)
        root = x509.load_pem_x509_certificate(anchor.read_bytes())
        ca_der.write_bytes(root.public_bytes(Encoding.DER))
        key.chmod(0o600)
    receiver_key = keys / "receiver.key"
    if not receiver_key.exists():
        _secret_file(receiver_key, NoteSigner.generate("cvk-receiver.demo").skey + "\n")
    receiver = NoteSigner.from_skey(receiver_key.read_text().strip())
    os.environ["SIGSVC_BATCH_SEAL_KEY"] = str(key)
    os.environ["SIGSVC_BATCH_SEAL_CERT"] = str(chain)
    # XAdES-LT seals need a time stamp: the test PKI's TSA, served by the demo flow's responders
    os.environ.setdefault("SIGSVC_BATCH_TSA_URL", f"{BASE_URL}/{ARCH.value}/tsa/tsa")
    os.environ.setdefault("SIGSVC_HANDOVER_URL", f"http://127.0.0.1:{DEMO_RECEIVER_PORT}/batches")
    os.environ.setdefault("SIGSVC_RECEIVER_KEY", receiver.verifier().vkey)
    return [
        f"  SIGSVC_BATCH_SEAL_KEY={key}  (TEST seal; CA {ca_der})",
        f"  SIGSVC_HANDOVER_URL={os.environ['SIGSVC_HANDOVER_URL']}  (sigsvc-receiver, README)",
    ]


def _credentials_path(app: Flask) -> Path:
    return Path(app.instance_path) / "demo-credentials.json"


def _load(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded


def _has(session: Session, model: type[AdminToken] | type[Platform], token: Any) -> bool:
    if not isinstance(token, str):
        return False
    column = AdminToken.token_sha256 if model is AdminToken else Platform.key_sha256
    return session.scalar(sa.select(sa.func.count()).where(column == token_digest(token))) == 1


def _current_round(
    session: Session, app: Flask, platform: Platform, first: Initiative
) -> Initiative:
    """The newest demo round, or a new one when it has signatures already (the demo signers
    can sign each initiative once): registered, and added to the demo platform (both logged)."""
    rounds = list(
        session.scalars(
            sa.select(Initiative)
            .where(Initiative.registration_number.startswith(f"{DEMO_REGISTRATION_NUMBER}-"))
            .order_by(Initiative.created_at)
        )
    )
    current = rounds[-1] if rounds else first
    if session.scalar(sa.select(sa.func.count()).where(Signature.initiative_id == current.id)) == 0:
        return current
    log = services.log_service(app)
    made = _register_demo_initiative(
        session,
        log,
        f"{DEMO_REGISTRATION_NUMBER}-{len(rounds) + 2}",
        f"Grozījumi demonstrācijas likumā ({len(rounds) + 2}. kārta)",
    )
    credentials.add_initiative(session, log, platform.id, made.id)
    return made


def _register_demo_initiative(
    session: Session, log: LogService, number: str, title: str
) -> Initiative:
    """A demo initiative collecting from today for the longest period its regime allows."""
    today = datetime.now(RIGA).date()
    return registry.register_initiative(
        session,
        log,
        registry.NewInitiative(
            regime=Regime.ART22_BILL,
            registration_number=number,
            title=title,
            full_text=DEMO_TEXT,
            starts_on=today,
            ends_on=registry.last_allowed_day(today, 12),
        ),
    )


def ensure_demo_data(app: Flask) -> dict[str, str]:
    path = _credentials_path(app)
    creds = _load(path)
    log = services.log_service(app)
    with db.session_scope(app) as session:
        if not _has(session, AdminToken, creds.get("admin_token")):
            _, creds["admin_token"] = credentials.create_admin_token(session, log, "demo")
        initiative = session.scalar(
            sa.select(Initiative).where(Initiative.registration_number == DEMO_REGISTRATION_NUMBER)
        )
        if initiative is None:
            initiative = _register_demo_initiative(
                session, log, DEMO_REGISTRATION_NUMBER, "Grozījumi demonstrācijas likumā"
            )
        platform = session.scalar(sa.select(Platform).where(Platform.name == DEMO_PLATFORM))
        if platform is None:
            platform, creds["platform_key"] = credentials.create_platform(
                session, log, DEMO_PLATFORM, [initiative.id]
            )
        elif not _has(session, Platform, creds.get("platform_key")):  # key file lost: a new key
            _, creds["platform_key"] = credentials.rotate_platform_key(session, log, platform.id)
        initiative = _current_round(session, app, platform, initiative)
        creds["initiative_id"] = str(initiative.id)
        creds["registration_number"] = initiative.registration_number
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(creds, out, indent=2)
    return creds


def _env_path(app: Flask) -> Path:
    return Path(app.instance_path) / "demo.env"


def write_env_file(app: Flask, creds: dict[str, str], base: str) -> None:
    """Everything README's later commands use, exported: `. instance/demo.env` in another shell
    makes curl, `sigsvc` (same database, keys, seal) and `sigaudit` work as in the demo."""
    keys = Path(app.instance_path) / "demo-keys"
    log_key = Path(os.environ["SIGSVC_LOG_KEY_FILE"]).read_text().strip()
    values = {
        "SIGSVC_URL": base,
        "ADMIN_TOKEN": creds["admin_token"],
        "PLATFORM_KEY": creds["platform_key"],
        "INITIATIVE_ID": creds["initiative_id"],
        "LOG_VKEY": NoteSigner.from_skey(log_key).verifier().vkey,
        "SEAL_CA": str(keys / "seal-ca.der"),
        "RECEIVER_KEY_FILE": str(keys / "receiver.key"),
        "DEMO_DIR": str(Path(app.instance_path) / "demo"),
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SIGSVC_INSTANCE_PATH": str(Path(app.instance_path).resolve()),
        **{k: v for k, v in sorted(os.environ.items()) if k in _EXPORTED},
    }
    text = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())
    fd = os.open(_env_path(app), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def print_instructions(app: Flask, creds: dict[str, str], base: str) -> None:
    admin, key, iid = creds["admin_token"], creds["platform_key"], creds["initiative_id"]
    form_query = urlencode(
        {
            "given_name": "Jānis",
            "surname": "Bērziņš",
            "personal_code": DEMO_PERSONAL_CODE,
            "date": datetime.now(RIGA).date().isoformat(),
        }
    )
    register_body = json.dumps(
        {
            "regime": "art22_bill",
            "registration_number": "DEMO-2026/2",
            "title": "Otrā demonstrācijas iniciatīva",
            "full_text": "Teksts.\n",
            "starts_on": "2026-12-01",
            "ends_on": "2027-11-30",
        },
        ensure_ascii=False,
    )
    lines = [
        "",
        "sigsvc demo",
        f"  database        {sa.make_url(app.config['DATABASE_URL']).render_as_string()}",
        f"  credentials     {_credentials_path(app)}  (shell: . {_env_path(app)})",
        f"  admin token     {admin}",
        f"  platform key    {key}   (demo-platform, for the demo initiative only)",
        f"  initiative id   {iid}   ({creds.get('registration_number', '')})",
        "",
        "Try:",
        f"  curl -s {base}/healthz",
        f"  curl -s {base}/v1/public/initiatives/{iid}",
        f"  curl -s -H 'Authorization: Bearer {key}' \\\n"
        f"    '{base}/v1/initiatives/{iid}/form?{form_query}'",
        f"  curl -s -H 'Authorization: Bearer {admin}' -H 'Content-Type: application/json' \\\n"
        f"    -d {shlex.quote(register_body)} {base}/v1/initiatives",
        f"  curl -s {base}/openapi.json",
        "",
        "Pages (open in a browser):",
        f"  {base}/                     initiatives with their counts",
        f"  {base}/initiatives/{iid}  the demo initiative, signatures per day",
        f"  {base}/log                  the log: size, checkpoints, how to verify",
        f"  {base}/receipt              check a receipt in the browser",
        f"  {base}/console/             operator console (log in with the admin token)",
        "",
        "Stop with Ctrl-C.",
        "",
    ]
    click.echo("\n".join(lines))


def serve(host: str, port: int, workers: int) -> None:
    try:
        from sigsvc.web.serve import run_gunicorn
    except ImportError:  # gunicorn is POSIX-only
        click.echo("gunicorn unavailable: falling back to werkzeug's server", err=True)
        current_app.run(host=host, port=port, threaded=True, use_reloader=False)
        return
    run_gunicorn(f"{host}:{port}", workers)
