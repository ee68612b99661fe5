"""CLI commands: each module's `command` (a click.Command) is added to `sigsvc` by cli.py.

Commands that need the app use `flask.cli.with_appcontext` and `flask.current_app`.
"""
