"""Checkpoints: the chain's head, signed with the audit key, kept outside the database.

A checkpoint is one line of JSON appended to a file that only grows (``fenghuo audit
checkpoint``, run by cron or the worker): the newest sequence number and hash, the time,
and an HMAC-SHA256 over them under the audit key. Someone who cuts the newest events and
rewinds the head in the database cannot rewind a file on another disk they cannot
write, nor sign a new line without the key; ``verify`` then finds events missing up to
the last checkpoint (5.4(c)). Copy the file off the host (syslog, a WORM share, the
daily message to the leading group office) so that it is out of reach too.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from config.audit_key import AuditKey, Keyring
from incidents.audit import GENESIS, AuditHead, keyring_for, verify


class CheckpointError(Exception):
    """The checkpoint file is unreadable, forged or out of order, or the chain is broken."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    sig: str

    @staticmethod
    def message(seq: int, digest: str, at: str) -> str:
        return f"fenghuo audit checkpoint\n{seq}\n{digest}\n{at}"

    @classmethod
    def signed(cls, *, seq: int, digest: str, at: datetime, key: AuditKey) -> Checkpoint:
        stamp = at.astimezone(UTC).isoformat(timespec="seconds")
        return cls(seq, digest, stamp, key.key_id, key.mac(cls.message(seq, digest, stamp)))

    def line(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "hash": self.hash,
                "at": self.at,
                "key": self.key_id,
                "sig": self.sig,
            },
            separators=(",", ":"),
        )

    def summary(self) -> str:
        """The form printed on report documents: enough to compare with the file."""
        return f"#{self.seq} {self.hash[:16]} {self.at}"


def _parse(raw: str, where: str, keyring: Keyring) -> Checkpoint:
    try:
        loaded: Any = json.loads(raw)
        cp = Checkpoint(
            seq=int(loaded["seq"]),
            hash=str(loaded["hash"]),
            at=str(loaded["at"]),
            key_id=str(loaded["key"]),
            sig=str(loaded["sig"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{where}: not a checkpoint ({exc})") from None
    key = keyring.by_id(cp.key_id)
    if key is None:
        raise CheckpointError(
            f"{where}: signed with an unknown audit key {cp.key_id!r} (forged, or a retired "
            "key is missing from FENGHUO_AUDIT_OLD_KEYS)"
        )
    if key.mac(Checkpoint.message(cp.seq, cp.hash, cp.at)) != cp.sig:
        raise CheckpointError(f"{where}: the signature does not match (forged or edited)")
    return cp


def read_checkpoints(path: Path, keyring: Keyring) -> list[Checkpoint]:
    """Every checkpoint in the file, signatures checked, oldest first; none if no file."""
    if not path.exists():
        return []
    found: list[Checkpoint] = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            cp = _parse(raw, f"checkpoint file {path.name} line {number}", keyring)
            if found and (cp.seq < found[-1].seq or cp.at < found[-1].at):
                raise CheckpointError(
                    f"checkpoint file {path.name} line {number}: goes back from event "
                    f"{found[-1].seq} to {cp.seq} (the file was edited)"
                )
            found.append(cp)
    return found


def write_checkpoint(
    session: Session, path: Path, *, now: datetime, keyring: Keyring | None = None
) -> Checkpoint:
    """Verify the chain against the file, then append a checkpoint of its head.

    A broken chain is never anchored: that would bless the tampering.
    """
    keys = keyring or keyring_for(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        # One writer at a time (cron and workers on one host): the head is read under
        # the lock, so lines never go back.
        fcntl.flock(fd, fcntl.LOCK_EX)
        existing = read_checkpoints(path, keys)
        result = verify(session, checkpoints=existing, keyring=keys)
        if not result.ok:
            raise CheckpointError(f"no checkpoint written: {result.describe()}")
        head = session.get(AuditHead, 1)
        seq, digest = (head.seq, head.hash) if head is not None else (0, GENESIS)
        stamp = max(now, _parsed(existing[-1].at)) if existing else now
        cp = Checkpoint.signed(seq=seq, digest=digest, at=stamp, key=keys.current)
        os.write(fd, (cp.line() + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock
    return cp


def _parsed(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def latest_checkpoint(path: Path, keyring: Keyring) -> Checkpoint | None:
    """The newest checkpoint, or ``None`` when there is none or the file is unreadable."""
    try:
        found = read_checkpoints(path, keyring)
    except (CheckpointError, OSError):
        return None
    return found[-1] if found else None
