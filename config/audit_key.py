"""The audit key: the secret that keys every audit hash and signs every checkpoint.

It never lives in the database, so someone who can write the database cannot recompute
the chain after an edit (5.4(c)). It comes from ``FENGHUO_AUDIT_KEY``, or from the file
``audit_key`` in the instance folder, created on first start readable by its owner only.
Keys retired by a rotation stay listed in ``FENGHUO_AUDIT_OLD_KEYS`` (comma-separated),
so events and checkpoints written under them still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from config.settings import ConfigError

KEY_VARIABLE = "FENGHUO_AUDIT_KEY"
OLD_KEYS_VARIABLE = "FENGHUO_AUDIT_OLD_KEYS"
CHECKPOINTS_VARIABLE = "FENGHUO_AUDIT_CHECKPOINTS"
KEY_FILE = "audit_key"
MIN_LENGTH = 32


@dataclass(frozen=True)
class AuditKey:
    secret: bytes = field(default=b"", repr=False)

    @property
    def key_id(self) -> str:
        """A short public name for the key, stored with each event (rotation)."""
        return hmac.new(self.secret, b"fenghuo audit key id", hashlib.sha256).hexdigest()[:16]

    def mac(self, message: str) -> str:
        return hmac.new(self.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keyring:
    """The key that writes, and every key that may still be read."""

    current: AuditKey
    retired: tuple[AuditKey, ...] = ()

    def by_id(self, key_id: str) -> AuditKey | None:
        for key in (self.current, *self.retired):
            if key.key_id == key_id:
                return key
        return None


def _checked(variable: str, raw: str) -> AuditKey:
    if len(raw) < MIN_LENGTH:
        raise ConfigError(variable, f"must be at least {MIN_LENGTH} characters")
    return AuditKey(raw.encode("utf-8"))


def _key_file(instance: Path) -> str:
    path = instance / KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError(
                KEY_VARIABLE,
                f"the key file {path.name} in the instance folder is readable by others "
                "(chmod 600 it)",
            )
        return path.read_text(encoding="utf-8").strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created with its final permissions: there is no moment when others may read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def load_keyring(env: Mapping[str, str], *, instance: Path, production: bool = False) -> Keyring:
    """The keyring from ``env``; in production the key must be given, since every web
    node, worker and bot must hash with the same one (a key file per machine would not)."""
    given = env.get(KEY_VARIABLE, "").strip()
    if not given and production:
        raise ConfigError(
            KEY_VARIABLE,
            "is required when FENGHUO_ENV=production (the same key on every web node, "
            "worker and bot)",
        )
    current = _checked(KEY_VARIABLE, given or _key_file(instance))
    retired = tuple(
        _checked(OLD_KEYS_VARIABLE, part.strip())
        for part in env.get(OLD_KEYS_VARIABLE, "").split(",")
        if part.strip()
    )
    return Keyring(current, retired)


def checkpoint_path(env: Mapping[str, str], *, instance: Path) -> Path:
    """``FENGHUO_AUDIT_CHECKPOINTS``, or ``audit-checkpoints.jsonl`` in the instance folder."""
    raw = env.get(CHECKPOINTS_VARIABLE, "").strip()
    return Path(raw) if raw else instance / "audit-checkpoints.jsonl"


def _instance() -> Path:
    raw = os.environ.get("FENGHUO_INSTANCE_PATH", "")
    return Path(raw) if raw else Path.cwd() / "instance"


def keyring_from_environment() -> Keyring:
    """The keyring of this process, from its environment (the CLI, the worker, the bot)."""
    production = os.environ.get("FENGHUO_ENV", "").strip() == "production"
    return load_keyring(os.environ, instance=_instance(), production=production)


def checkpoint_path_from_environment() -> Path:
    return checkpoint_path(os.environ, instance=_instance())
