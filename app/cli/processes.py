"""Commands that run the product's processes: the web face (``web``), the worker, the
Telegram bot, and all of them on one machine (``run``).

``run`` supervises (``app.cli.supervisor``): a child that stops is started again with
backoff while the others go on, and every child dies with ``run`` even when it is
SIGKILLed (``app.lifeline``). The web face runs under gunicorn with
``app.gunicorn_conf`` (Prometheus multiprocess mode, logs); every process logs in
``FENGHUO_LOG_FORMAT`` (``app.logs``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

import click

from app.cli import _settings, main
from app.cli.data import _print_logins, seed_demo
from app.cli.supervisor import EXIT_LOCKED, Child, Supervisor, fresh_directory
from app.lifeline import follow_parent
from app.logs import configure_logging
from config.policy import PolicyError, load_policy
from config.settings import Settings
from incidents.clock import SystemClock

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _process_logging(settings: Settings) -> None:
    configure_logging(
        settings.log_format, level=os.environ.get("FENGHUO_LOG_LEVEL", "INFO").upper()
    )


@main.command()
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def web(host: str | None, port: int | None) -> None:
    """Serve the web face and API (development server; use gunicorn in production)."""
    from werkzeug.serving import run_simple

    from app import create_app

    settings = _settings()
    _process_logging(settings)
    app = create_app(settings)
    run_simple(host or settings.host, port or settings.port, app, threaded=True, use_reloader=False)


@main.command()
def worker() -> None:
    """Sweep due timers and deliver notifications (APScheduler wakes it)."""
    from escalation.worker import run_worker_from_settings

    settings = _settings()
    follow_parent()
    _process_logging(settings)
    try:
        pol = load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        # The worker's own figures (rounds, deliveries, due→handed lag) for a second
        # Prometheus target, when it runs apart from the web (docs/operator.md).
        start_http_server(settings.worker_metrics_port, addr=settings.host)
    from app.reports.attachments import ReportPdfs

    # A report's email attachment, in the font the report page's download uses.
    pdfs = ReportPdfs(database_url=settings.database_url, tz=pol.tz, font_path=settings.pdf_font)
    run_worker_from_settings(settings, pol, SystemClock(), attachments=pdfs)


@main.command()
def bot() -> None:
    """Answer Telegram (one poller per bot token)."""
    settings = _settings()
    follow_parent()
    _process_logging(settings)
    if not settings.telegram_enabled:
        raise click.ClickException("Telegram is off: FENGHUO_TELEGRAM_TOKEN is not set")
    from app.i18n import error_text
    from escalation.telegram.bot import run_bot_from_settings

    run_bot_from_settings(
        settings, load_policy(settings.policy_path), SystemClock(), explain=error_text
    )


@main.command()
@click.option("--seed/--no-seed", default=True, help="seed the demo organisation if empty")
def run(seed: bool) -> None:
    """Everything on one machine: migrate, seed if empty, web + worker (+ bot)."""
    from app.migrate import upgrade

    settings = _settings()
    _process_logging(settings)
    try:
        load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(f"invalid policy: {exc}") from None
    upgrade(settings.database_url)
    if seed:
        password = seed_demo(settings, only_if_empty=True)
        if password is not None:
            _print_logins(password, settings)
    # Prometheus multiprocess mode: a fresh directory, in the children's environment
    # before they start (prometheus_client reads it at import).
    metrics_dir = fresh_directory(settings.instance_path.resolve() / "metrics")
    env = {**os.environ, MULTIPROC_ENV: str(metrics_dir)}
    me = [sys.executable, "-m", "app.cli"]
    children = [Child("worker", [*me, "worker"])]
    if settings.telegram_enabled:
        # In webhook mode the bot registers the webhook and exits 0: that is done.
        children.append(Child("bot", [*me, "bot"], restart="on_failure"))
    else:
        click.echo("Telegram is off (set FENGHUO_TELEGRAM_TOKEN to turn it on).")
    # The web face under gunicorn (2 workers), as in production; each worker builds its
    # own engine (no --preload), and the worker and bot run as their own processes.
    children.append(
        Child(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:app.gunicorn_conf",
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
            ],
        )
    )

    def forget_metrics(child: Child, pid: int, code: int) -> None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(metrics_dir))  # type: ignore[no-untyped-call]

    supervisor = Supervisor(
        children, say=_say, env=env, on_exit=forget_metrics, explain=_explain(settings)
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor.start_all()
    click.echo(f"Fenghuo on {settings.public_url}  (Ctrl-C stops everything)")
    try:
        supervisor.run()
    finally:
        supervisor.stop()


def _say(line: str) -> None:
    logging.getLogger("fenghuo.run").warning("%s", line)


def _explain(settings: Settings) -> Callable[[Child, int], str]:
    def explain(child: Child, code: int) -> str:
        if child.name == "worker" and code == EXIT_LOCKED:
            return (
                "another worker holds this SQLite database's worker lock — is another "
                "`fenghuo run` or `fenghuo worker` running on the same database? "
                "Paging waits until this worker can start"
            )
        if child.name == "web":
            return f"the web face did not keep running; is {settings.host}:{settings.port} free?"
        return ""

    return explain
