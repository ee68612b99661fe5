"""`make certify`: start a fresh deployment configured for certification, run the suite
against it, stop it.

    python -m certification.certify.local [--db sqlite|postgres] [--tls] [--out DIR] [--only ..]

The deployment is what an operator would run: migrated database (SQLite file, or a throwaway
PostgreSQL cluster from Debian's binaries), gunicorn (`sigsvc.serve`), the environment that
`sigsvc-certify env` prints, an admin token, keys in files. With `--tls` gunicorn terminates
TLS itself with a certificate made here for 127.0.0.1 (so C24 runs); otherwise C24 SKIPs.
The runner gets `--database-url` (C16, C25), `--retention-command` (C26) and `--app-log`
(C18, C27), so every check runs.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import ipaddress
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from audit.note import Signer
from certification.certify import cli
from certification.certify.kit import ensure_kit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextlib.contextmanager
def postgres(workdir: Path) -> Iterator[str]:
    """A throwaway cluster (durability off), database `sigsvc`; yields its URL."""
    bindir = _pg_bindir()
    if bindir is None:
        raise SystemExit(
            "make certify DB=postgres: no /usr/lib/postgresql/*/bin (apt-get install postgresql)"
        )
    pgdir = workdir / "pg"
    pgdir.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        user = pwd.getpwnam("postgres")
        os.chown(pgdir, user.pw_uid, user.pw_gid)
        os.chmod(workdir, 0o755)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = pgdir / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
    )
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(pgdir / "log"),
        "-w",
        "-t",
        "60",
        "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {pgdir} -c fsync=off",
        "start",
    )
    try:
        run(
            str(bindir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "postgres",
            "-c",
            "CREATE DATABASE sigsvc",
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/sigsvc"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")


def tls_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed TEST certificate for 127.0.0.1 (the runner pins it with --ca-file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1 (TEST certify)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _secret(path: Path, text: str) -> str:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def deployment_env(workdir: Path, database_url: str, admin_token: str) -> dict[str, str]:
    kit = ensure_kit(workdir / "kit")
    keys = workdir / "keys"
    keys.mkdir()
    env = {
        **kit.environment(),
        "DATABASE_URL": database_url,
        "SIGSVC_INSTANCE_PATH": str(workdir / "instance"),
        "SIGSVC_ADMIN_TOKEN": admin_token,
        "SIGSVC_KEK_FILE": _secret(keys / "kek.b64", base64.b64encode(os.urandom(32)).decode()),
        "SIGSVC_PSEUDONYM_KEY_FILE": _secret(
            keys / "pseudonym.b64", base64.b64encode(os.urandom(32)).decode()
        ),
        "SIGSVC_LOG_KEY_FILE": _secret(keys / "log.key", Signer.generate("certify-log").skey),
        "SIGSVC_LOG_ORIGIN": "certify.sigsvc.invalid/log",
        "SIGSVC_BATCH_DIR": str(workdir / "batches"),
        "SIGSVC_RETENTION_DAYS": "30",  # the retention run (C26) uses 0: purge once acknowledged
    }
    return env


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m certification.certify.local")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--tls", action="store_true", help="gunicorn terminates TLS (C24 runs)")
    p.add_argument("--out", default="certify-report")
    p.add_argument("--only")
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="sigsvc-certify-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        with contextlib.ExitStack() as stack:
            if args.db == "postgres":
                url = stack.enter_context(postgres(workdir))
            else:
                url = f"sqlite:///{workdir / 'sigsvc.sqlite'}"
            token = secrets.token_urlsafe(32)
            env = deployment_env(workdir, url, token)
            full = {**os.environ, **env}
            sigsvc = str(Path(sys.executable).parent / "sigsvc")
            upgraded = subprocess.run(
                [sigsvc, "db", "upgrade"], env=full, capture_output=True, text=True
            )
            if upgraded.returncode != 0:
                raise SystemExit(f"sigsvc db upgrade failed: {upgraded.stderr[-2000:]}")
            port = _free_port()
            scheme, extra = "http", []
            if args.tls:
                cert, key = tls_files(workdir)
                scheme, extra = "https", ["--certfile", str(cert), "--keyfile", str(key)]
            print("== deployment under test (environment from `sigsvc-certify env`):")
            for name, value in env.items():
                shown = "<random>" if name == "SIGSVC_ADMIN_TOKEN" else value
                print(f"   {name}={shown}")
            app_log = workdir / "app.log"
            with app_log.open("wb") as log_out:
                server = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "certification.certify.serve_local",
                        f"127.0.0.1:{port}",
                        str(args.workers),
                        *extra,
                    ],
                    env=full,
                    stdout=log_out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            base = f"{scheme}://127.0.0.1:{port}"
            verify: str | bool = str(workdir / "tls.crt") if args.tls else True
            for _ in range(300):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(base + "/readyz", timeout=2, verify=verify).status_code == 200:
                        break
                if server.poll() is not None:
                    print(app_log.read_text(errors="replace")[-3000:])
                    raise SystemExit("the deployment did not start")
                time.sleep(0.2)
            print(f"== {base} ready ({args.db}); running sigsvc-certify")
            env_file = workdir / "deployment.env"
            env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
            env_file.chmod(0o600)
            run_args = [
                "run",
                "--target",
                base,
                f"--admin-token={token}",  # token_urlsafe may begin with "-"
                "--kit",
                str(workdir / "kit"),
                "--database-url",
                url,
                "--retention-command",
                f"SIGSVC_RETENTION_DAYS=0 {sigsvc} retention purge",
                "--env-file",
                str(env_file),
                "--app-log",
                str(app_log),
                "--out",
                args.out,
            ]
            if args.tls:
                run_args += ["--ca-file", str(workdir / "tls.crt")]
            if args.only:
                run_args += ["--only", args.only]
            code = cli.main(run_args)
            return code
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
