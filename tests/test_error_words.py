"""Codes passed as an error's params read as words in the reader's language."""

from __future__ import annotations

from app.i18n import error_text
from incidents.errors import Conflict, ValidationError


def test_a_status_code_in_a_message_is_named_in_each_language() -> None:
    exc = Conflict(
        "the incident is %(status)s; nothing to escalate",
        field="status",
        code="status.incident_nothing_escalate",
        params={"status": "closed"},
    )
    assert error_text(exc, "zh_CN") == "事件状态为 已结案；无需升级"
    assert error_text(exc, "en") == "the incident is closed; nothing to escalate"
    assert exc.to_dict()["params"] == {"status": "closed"}  # params stay as raised


def test_a_list_of_codes_is_named_item_by_item() -> None:
    exc = ValidationError(
        "unknown value %(value)r; one of %(choices)s",
        field="grade",
        code="unknown_value",
        params={"value": "huge", "choices": "general, relatively_major, major"},
    )
    assert error_text(exc, "zh_CN") == "未知的值 'huge'；应为以下之一：一般、较大、重大"
    assert error_text(exc, "en").endswith("one of general, relatively major, major")


def test_text_that_is_no_code_is_left_as_it_is() -> None:
    exc = Conflict(
        "the incident is %(status)s; nothing to escalate",
        field="status",
        code="status.incident_nothing_escalate",
        params={"status": "zhang.wei, nobody"},
    )
    assert error_text(exc, "zh_CN") == "事件状态为 zhang.wei, nobody；无需升级"
