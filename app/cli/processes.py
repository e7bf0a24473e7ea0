"""Commands that run the product's processes: the web face (``web``), the worker, the
Telegram bot, and all of them on one machine (``run``).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import click

from app.cli import _settings, main
from app.cli.data import _print_logins, seed_demo
from config.policy import PolicyError, load_policy
from incidents.clock import SystemClock


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def web(host: str | None, port: int | None) -> None:
    """Serve the web face and API (development server; use gunicorn in production)."""
    from werkzeug.serving import run_simple

    from app import create_app

    settings = _settings()
    app = create_app(settings)
    run_simple(host or settings.host, port or settings.port, app, threaded=True, use_reloader=False)


@main.command()
def worker() -> None:
    """Sweep due timers and deliver notifications (APScheduler wakes it)."""
    from escalation.worker import run_worker_from_settings

    settings = _settings()
    try:
        pol = load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    run_worker_from_settings(settings, pol, SystemClock())


@main.command()
def bot() -> None:
    """Answer Telegram (one poller per bot token)."""
    settings = _settings()
    if not settings.telegram_enabled:
        raise click.ClickException("Telegram is off: FENGHUO_TELEGRAM_TOKEN is not set")
    from escalation.telegram.bot import run_bot_from_settings

    run_bot_from_settings(settings, load_policy(settings.policy_path), SystemClock())


@main.command()
@click.option("--seed/--no-seed", default=True, help="seed the demo organisation if empty")
def run(seed: bool) -> None:
    """Everything on one machine: migrate, seed if empty, web + worker (+ bot)."""
    from app.migrate import upgrade

    settings = _settings()
    try:
        load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    upgrade(settings.database_url)
    if seed:
        password = seed_demo(settings, only_if_empty=True)
        if password is not None:
            _print_logins(password, settings)
    children = [subprocess.Popen([sys.executable, "-m", "app.cli", "worker"])]
    if settings.telegram_enabled:
        children.append(subprocess.Popen([sys.executable, "-m", "app.cli", "bot"]))
    else:
        click.echo("Telegram is off (set FENGHUO_TELEGRAM_TOKEN to turn it on).")

    def stop(*_args: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    def terminate(*_args: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, terminate)
    # The web face under gunicorn (2 workers), as in production; each worker builds its
    # own engine (no --preload), and the worker and bot run as their own processes.
    children.append(
        subprocess.Popen(  # noqa: S603 - our own interpreter and settings, no shell
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "2",
                "--threads",
                "4",
                "--bind",
                f"{settings.host}:{settings.port}",
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
                "app:create_app()",
            ]
        )
    )
    click.echo(f"Fenghuo on {settings.public_url}  (Ctrl-C stops everything)")
    try:
        _watch(children)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


def _watch(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait until any process stops; the product is not whole without each of them."""
    while True:
        for child in children:
            code = child.poll()
            if code is not None:
                raise click.ClickException(f"a process stopped with code {code}: {child.args!r}")
        time.sleep(1)
