"""`sigsvc serve`: the production entry point (gunicorn, JSON logs, settings from SIGSVC_*).

Everything a request will need is checked before a worker starts, so a deployment with a
missing key or a mistyped value fails at once, naming the variable, instead of answering 500s
or 503s later. `sigsvc demo-run` is the demo; Flask's `sigsvc run` is for development only.
"""

from __future__ import annotations

import os

import click


def preflight(env: dict[str, str]) -> None:
    """Raise click.ClickException naming what is missing or wrong."""
    from sigsvc import db, services
    from sigsvc.api.health import unusable_parts
    from sigsvc.app import create_app
    from sigsvc.config import ConfigError

    if not (env.get("DATABASE_URL") or env.get("SIGSVC_DATABASE_URL")):
        raise click.ClickException("DATABASE_URL: not set (e.g. postgresql://sigsvc@db/sigsvc)")
    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        try:
            at_head = db.current_revisions(db.engine_of(app)) == db.head_revisions(
                app.config["DATABASE_URL"]
            )
        except Exception as exc:
            raise click.ClickException(f"DATABASE_URL: unreachable ({type(exc).__name__})") from exc
        if not at_head:
            raise click.ClickException(
                "DATABASE_URL: the schema is not at the migration head; run `sigsvc db upgrade`"
            )
        with app.app_context():  # what /readyz would answer: intake, trusted lists, batches
            problems = unusable_parts()
        if problems:
            raise click.ClickException("; ".join(problems))
    finally:
        services.close(app)
        db.engine_of(app).dispose()


@click.command("serve")
@click.option("--bind", default=None, help="HOST:PORT or unix:PATH [env SIGSVC_BIND]")
@click.option("--workers", default=None, type=int, help="processes [env SIGSVC_WORKERS]")
def command(bind: str | None, workers: int | None) -> None:
    """Serve in production: check the configuration, then gunicorn in the foreground."""
    from sigsvc.config import ConfigError
    from sigsvc.web.serve import ServeSettings, prepare_metrics_dir, run

    env = dict(os.environ)
    try:
        settings = ServeSettings.from_env(env).override(bind=bind, workers=workers)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    prepare_metrics_dir()  # before anything imports prometheus_client
    preflight(env)
    run(settings)
