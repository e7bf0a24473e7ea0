"""The worker's audit duty: checkpoints at an interval, and the daily message (5.4(c)).

Every ``every`` the worker verifies the chain and appends a signed checkpoint of its head
to the checkpoint file (:func:`incidents.audit_checkpoints.write_checkpoint`; cron can do
the same with ``fenghuo audit checkpoint``). Once a day, after ``daily_at`` in the
policy's time zone, the newest checkpoint goes as a bulletin to the leading group
office's channel — the group destination ``group``, or, where there is none, the people
holding the position ``leading_group_office`` — so that a copy of where the chain ended
lives outside the database and outside this host. A chain that fails verification is
never anchored; the day's message then says that the chain is broken and from which
event, so the office learns of it the same day.

Several workers may run: the file is written under a lock and the message's key makes it
once a day per address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from config.audit_key import Keyring
from escalation.bulletins import queue_for_group
from incidents.audit import verify
from incidents.audit_checkpoints import (
    Checkpoint,
    CheckpointError,
    latest_checkpoint,
    read_checkpoints,
    write_checkpoint,
)

logger = logging.getLogger(__name__)

OFFICE_POSITION = "leading_group_office"
# How often the worker looks (the job's interval); the duty itself decides what is due.
CHECK_SECONDS = 60


@dataclass(frozen=True)
class DutyOutcome:
    written: Checkpoint | None = None
    told: int = 0
    broken: str = ""


@dataclass
class CheckpointDuty:
    path: Path
    keyring: Keyring
    tz: ZoneInfo
    every: timedelta | None = timedelta(hours=1)
    daily_at: time = time(8, 0)
    group: str = OFFICE_POSITION
    _told_on: date | None = field(default=None, init=False)

    def run(self, factory: sessionmaker[Session], now: datetime) -> DutyOutcome:
        """Write a checkpoint if one is due; tell the office if today's is due."""
        written: Checkpoint | None = None
        broken = ""
        latest = latest_checkpoint(self.path, self.keyring)
        if self.every is not None and (
            latest is None or now - datetime.fromisoformat(latest.at) >= self.every
        ):
            try:
                with factory() as session:
                    written = write_checkpoint(session, self.path, now=now, keyring=self.keyring)
                latest = written
            except CheckpointError as exc:
                broken = str(exc)
                logger.error("audit checkpoint not written: %s", exc)
        local = now.astimezone(self.tz)
        if local.time() < self.daily_at or self._told_on == local.date():
            return DutyOutcome(written, 0, broken)
        if not broken and written is None:
            # No checkpoint written this round: verify before vouching for the chain.
            broken = self._problem(factory)
        told = self._tell(factory, now, local.date(), latest, broken)
        self._told_on = local.date()
        return DutyOutcome(written, told, broken)

    def _problem(self, factory: sessionmaker[Session]) -> str:
        try:
            checkpoints = read_checkpoints(self.path, self.keyring)
        except (CheckpointError, OSError) as exc:
            return f"checkpoints not trusted: {exc}"
        with factory() as session:
            result = verify(session, checkpoints=checkpoints, keyring=self.keyring)
        return "" if result.ok else result.describe()

    def _tell(
        self,
        factory: sessionmaker[Session],
        now: datetime,
        day: date,
        latest: Checkpoint | None,
        broken: str,
    ) -> int:
        zh, en = daily_texts(day, latest, broken)
        with factory() as session, session.begin():
            told = queue_for_group(
                session,
                group=self.group,
                position=OFFICE_POSITION,
                kind="checkpoint",
                key=f"checkpoint:{day.isoformat()}",
                text_zh=zh,
                text_en=en,
                now=now,
            )
        if told == 0:
            logger.info("audit checkpoint of %s: already told, or nobody to tell", day)
        return told


def daily_texts(day: date, latest: Checkpoint | None, broken: str) -> tuple[str, str]:
    """The day's message in both languages (a record to keep: every figure in full)."""
    if broken:
        return (
            f"【烽火审计】{day} 审计链校验未通过，未写入检查点（5.4(c)）：{broken}。"
            "请立即核查并保全证据。",
            f"[Fenghuo audit] {day}: the audit chain failed verification and no checkpoint "
            f"was written (5.4(c)): {broken}. Check it now and preserve the evidence.",
        )
    if latest is None:
        return (
            f"【烽火审计】{day} 尚无审计检查点。",
            f"[Fenghuo audit] {day}: no audit checkpoint yet.",
        )
    return (
        f"【烽火审计】{day} 审计检查点（5.4(c)）\n"
        f"事件序号：{latest.seq}\n哈希：{latest.hash}\n时间：{latest.at}\n"
        f"密钥：{latest.key_id}\n签名：{latest.sig}\n"
        "请留存本消息；核验时以 fenghuo audit verify 对照。",
        f"[Fenghuo audit] {day} audit checkpoint (5.4(c))\n"
        f"Event: {latest.seq}\nHash: {latest.hash}\nAt: {latest.at}\n"
        f"Key: {latest.key_id}\nSignature: {latest.sig}\n"
        "Keep this message; compare with fenghuo audit verify.",
    )
