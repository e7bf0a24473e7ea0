"""Without a token the product runs, and says plainly that Telegram is off."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.policy import load_policy
from config.settings import load_settings
from escalation.channels.base import make_channel
from escalation.telegram.bot import run_bot_from_settings
from escalation.telegram.cli import status_line
from incidents.clock import FrozenClock


def test_it_says_telegram_is_off_without_a_token(
    tmp_path: Path, clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings({"FENGHUO_INSTANCE_PATH": str(tmp_path)})
    assert status_line(settings) == "Telegram is off: FENGHUO_TELEGRAM_TOKEN is not set."
    run_bot_from_settings(settings, load_policy(), clock)
    assert "Telegram is off" in capsys.readouterr().out
    with pytest.raises(ValueError, match="Telegram is off"):
        make_channel("telegram", {"token": None})


def test_it_says_telegram_is_on_with_a_token(tmp_path: Path) -> None:
    settings = load_settings(
        {"FENGHUO_INSTANCE_PATH": str(tmp_path), "FENGHUO_TELEGRAM_TOKEN": "42:abc"}
    )
    assert status_line(settings).startswith("Telegram is on: bot 42, polling mode")
