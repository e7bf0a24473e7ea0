"""Typed settings read once from ``FENGHUO_*`` environment variables.

A bad value stops start-up with the variable's name and what was wrong (STYLE.md 7).
The embedded default needs no variable at all: SQLite in ``instance/`` and a secret key
generated there on first start. Production mode (``FENGHUO_ENV=production``) requires
an explicit secret key and a public URL.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as dt_time
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.audit_key import Keyring

PREFIX = "FENGHUO_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting is missing or malformed; ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable
        self.message = message


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(name, f"must be a boolean (true/false/1/0/yes/no), got {raw!r}")


def env_int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    return value


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, default).strip() or default
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, default).strip() or default
    if value and not value.startswith(("http://", "https://")):
        raise ConfigError(name, f"must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


# --- email (FENGHUO_SMTP_*) ------------------------------------------------------------------

SMTP_SECURITY = ("starttls", "ssl", "none")
# The usual port of each: submission with STARTTLS, SMTPS (implicit TLS), plain relay.
SMTP_DEFAULT_PORT = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server the email channel sends through; ``None`` in :class:`Settings`
    when ``FENGHUO_SMTP_HOST`` is not set (email is off)."""

    host: str
    port: int
    sender: str
    security: str = "starttls"
    user: str = ""
    password: str = field(default="", repr=False)
    timeout: int = 15


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    host = env.get(PREFIX + "SMTP_HOST", "").strip()
    if not host:
        return None
    security = env_choice(env, PREFIX + "SMTP_SECURITY", "starttls", SMTP_SECURITY)
    port = env_int(env, PREFIX + "SMTP_PORT", SMTP_DEFAULT_PORT[security], minimum=1)
    if port > 65535:
        raise ConfigError(PREFIX + "SMTP_PORT", f"must be at most 65535, got {port}")
    sender = env.get(PREFIX + "SMTP_FROM", "").strip()
    if not sender:
        raise ConfigError(
            PREFIX + "SMTP_FROM", "is required with FENGHUO_SMTP_HOST (the From address)"
        )
    _name, address = parseaddr(sender)
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(c.isspace() for c in address):
        raise ConfigError(
            PREFIX + "SMTP_FROM",
            f"must be an email address such as noreply@example.gov.cn "
            f"or 烽火 <noreply@example.gov.cn>, got {sender!r}",
        )
    user = env.get(PREFIX + "SMTP_USER", "").strip()
    password = env.get(PREFIX + "SMTP_PASSWORD", "")
    if user and not password:
        raise ConfigError(PREFIX + "SMTP_PASSWORD", "is required with FENGHUO_SMTP_USER")
    if password and not user:
        raise ConfigError(PREFIX + "SMTP_USER", "is required with FENGHUO_SMTP_PASSWORD")
    if user and security == "none":
        raise ConfigError(
            PREFIX + "SMTP_SECURITY",
            "none would send FENGHUO_SMTP_PASSWORD in clear text; use starttls or ssl",
        )
    return SmtpSettings(
        host=host,
        port=port,
        sender=sender,
        security=security,
        user=user,
        password=password,
        timeout=env_int(env, PREFIX + "SMTP_TIMEOUT", 15, minimum=1),
    )


@dataclass(frozen=True)
class Settings:
    """Everything the processes need from the environment, validated."""

    env: str
    instance_path: Path
    database_url: str
    secret_key: str
    policy_path: Path | None
    public_url: str
    sweep_seconds: int
    host: str
    port: int
    demo_password: str | None
    telegram_token: str | None
    telegram_api_url: str
    telegram_webhook_secret: str | None
    telegram_mode: str
    login_max_failures: int
    login_lockout_seconds: int
    worker_console: bool = False
    smtp: SmtpSettings | None = None
    # The audit key (config.audit_key), the checkpoint file and the proxy hops in front.
    audit_keyring: Keyring | None = None
    audit_checkpoint_path: Path | None = None
    # The worker writes a checkpoint when the newest is this old (0: only cron does), and
    # once a day after ``audit_daily_at`` (policy time zone) tells the leading group
    # office's channel (the group destination ``audit_daily_group``, else its members).
    audit_checkpoint_minutes: int = 60
    audit_daily_at: dt_time = dt_time(8, 0)
    audit_daily_group: str = "leading_group_office"
    # A duty handoff (交接班) not acknowledged this many minutes after it was written is
    # reminded once (escalation.handoff_watch).
    handoff_ack_minutes: int = 30
    trusted_proxies: int = 0
    # Failed logins one client address may make per window, across every web worker.
    login_address_limit: int = 20
    login_address_window_seconds: int = 600
    # Logs: ``text`` for people, ``json`` (one object per line) for log shippers.
    log_format: str = "text"
    # ``/metrics``: a bearer token to require; without one, loopback clients only.
    metrics_token: str | None = None
    # A worker on its own serves its metrics on this port (none: not served).
    worker_metrics_port: int | None = None
    # The TrueType Chinese font report PDFs embed (none: the known Debian fonts).
    pdf_font: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def email_enabled(self) -> bool:
        return self.smtp is not None


def _secret_key(env: Mapping[str, str], production: bool, instance: Path) -> str:
    name = PREFIX + "SECRET_KEY"
    given = env.get(name, "").strip()
    if given:
        if len(given) < 16:
            raise ConfigError(name, "must be at least 16 characters")
        return given
    if production:
        raise ConfigError(name, "is required when FENGHUO_ENV=production")
    # The embedded default keeps a generated key beside the database, so sessions survive
    # restarts without anyone having to invent a secret.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


def _audit_and_proxies(env: Mapping[str, str], instance: Path, production: bool) -> dict[str, Any]:
    from config.audit_key import checkpoint_path, load_keyring

    return {
        "audit_keyring": load_keyring(env, instance=instance, production=production),
        "audit_checkpoint_path": checkpoint_path(env, instance=instance),
        "audit_checkpoint_minutes": env_int(
            env, PREFIX + "AUDIT_CHECKPOINT_MINUTES", 60, minimum=0
        ),
        "audit_daily_at": _clock_time(env, PREFIX + "AUDIT_DAILY_AT", dt_time(8, 0)),
        "audit_daily_group": _group_name(env, PREFIX + "AUDIT_DAILY_GROUP"),
        "handoff_ack_minutes": env_int(env, PREFIX + "HANDOFF_ACK_MINUTES", 30, minimum=1),
        "trusted_proxies": env_int(env, PREFIX + "TRUSTED_PROXIES", 0, minimum=0),
        "login_address_limit": env_int(env, PREFIX + "LOGIN_ADDRESS_LIMIT", 20, minimum=1),
        "login_address_window_seconds": env_int(
            env, PREFIX + "LOGIN_ADDRESS_WINDOW_SECONDS", 600, minimum=1
        ),
    }


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    mode = env_choice(env, PREFIX + "ENV", "development", ("development", "production", "test"))
    production = mode == "production"
    instance = Path(env.get(PREFIX + "INSTANCE_PATH", "") or Path.cwd() / "instance")
    secret_key = _secret_key(env, production, instance)
    default_db = f"sqlite:///{instance / 'fenghuo.db'}"
    database_url = env.get(PREFIX + "DATABASE_URL", "").strip() or default_db
    if database_url == default_db:
        instance.mkdir(parents=True, exist_ok=True)  # only the default folder is created
    if not database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            PREFIX + "DATABASE_URL",
            f"must be a sqlite:// or postgresql:// URL, got {database_url!r}",
        )
    policy_raw = env.get(PREFIX + "POLICY", "").strip()
    policy_path = Path(policy_raw) if policy_raw else None
    if policy_path is not None and not policy_path.is_file():
        raise ConfigError(PREFIX + "POLICY", f"no such file: {policy_raw}")
    host = env.get(PREFIX + "HOST", "127.0.0.1").strip() or "127.0.0.1"
    port = env_int(env, PREFIX + "PORT", 8000, minimum=1)
    # Outside production the links in messages point where the web face listens.
    public_url = _url(env, PREFIX + "PUBLIC_URL", "" if production else f"http://{host}:{port}")
    if production and not public_url:
        raise ConfigError(PREFIX + "PUBLIC_URL", "is required when FENGHUO_ENV=production")
    token = env.get(PREFIX + "TELEGRAM_TOKEN", "").strip() or None
    if token is not None and ":" not in token:
        raise ConfigError(PREFIX + "TELEGRAM_TOKEN", "does not look like a bot token (id:secret)")
    return Settings(
        env=mode,
        instance_path=instance,
        database_url=database_url,
        secret_key=secret_key,
        policy_path=policy_path,
        public_url=public_url,
        sweep_seconds=env_int(env, PREFIX + "SWEEP_SECONDS", 5, minimum=1),
        host=host,
        port=port,
        demo_password=env.get(PREFIX + "DEMO_PASSWORD") or None,
        telegram_token=token,
        telegram_api_url=_url(env, PREFIX + "TELEGRAM_API_URL", "https://api.telegram.org/bot"),
        telegram_webhook_secret=env.get(PREFIX + "TELEGRAM_WEBHOOK_SECRET", "").strip() or None,
        telegram_mode=env_choice(env, PREFIX + "TELEGRAM_MODE", "polling", ("polling", "webhook")),
        login_max_failures=env_int(env, PREFIX + "LOGIN_MAX_FAILURES", 5, minimum=1),
        login_lockout_seconds=env_int(env, PREFIX + "LOGIN_LOCKOUT_SECONDS", 900, minimum=1),
        # The worker also logs every notice to the console (on by default outside
        # production, so `make run` shows what would be sent).
        worker_console=env_bool(env, PREFIX + "WORKER_CONSOLE", not production),
        smtp=_smtp(env),
        **_audit_and_proxies(env, instance, production),
        log_format=env_choice(env, PREFIX + "LOG_FORMAT", "text", ("text", "json")),
        metrics_token=_metrics_token(env),
        worker_metrics_port=env_int(env, PREFIX + "WORKER_METRICS_PORT", 0, minimum=0) or None,
        pdf_font=_truetype_font(env, PREFIX + "PDF_FONT"),
    )


def _clock_time(env: Mapping[str, str], name: str, default: dt_time) -> dt_time:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        hours, minutes = raw.split(":")
        return dt_time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(name, f"must be a time of day as HH:MM, got {raw!r}") from None


def _group_name(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip() or "leading_group_office"
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", raw):
        raise ConfigError(
            name, f"must be a group destination name (letters, digits, . _ -), got {raw!r}"
        )
    return raw


def _metrics_token(env: Mapping[str, str]) -> str | None:
    name = PREFIX + "METRICS_TOKEN"
    token = env.get(name, "").strip()
    if token and len(token) < 16:
        raise ConfigError(name, "must be at least 16 characters (or unset: loopback only)")
    return token or None


# The first four bytes of a TrueType-outline font, and of a collection of fonts.
_TRUETYPE = (b"\x00\x01\x00\x00", b"true")
_COLLECTION = b"ttcf"


def _truetype_font(env: Mapping[str, str], name: str) -> Path | None:
    """A TrueType font file (``.ttf``, or ``.ttc`` whose first face is TrueType): the
    PDF embeds only TrueType outlines, so a CFF font (``OTTO``, as Noto CJK) is refused."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    try:
        with path.open("rb") as font:
            head = font.read(16)
            if head[:4] == _COLLECTION and len(head) == 16:
                font.seek(int.from_bytes(head[12:16], "big"))  # the first face
                head = font.read(4)
    except OSError as exc:
        raise ConfigError(name, f"cannot read the font file {raw}: {exc.strerror}") from None
    if head[:4] not in _TRUETYPE:
        raise ConfigError(
            name,
            f"{raw} is not a TrueType font (an OpenType/CFF font such as Noto CJK cannot be "
            "embedded); use one such as fonts-wqy-zenhei's wqy-zenhei.ttc",
        )
    return path
