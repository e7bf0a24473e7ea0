"""The incident timeline says in words what happened to a notice, never the exception."""

from __future__ import annotations

from flask import Flask

from app.web.paging_words import event_reason


def test_a_handed_on_notice_reads_as_words_in_the_timeline(app: Flask) -> None:
    data = {
        "from": "telegram",
        "to": "email",
        "reason": "not delivered within PT2M (chat 1001: NetworkError: httpx.ConnectError: "
        "All connection attempts failed)",
    }
    with app.test_request_context("/"):
        text = event_reason("notification.fallback", data)
    assert text == "Telegram 无法送达，已改由电子邮件发送"
    assert "NetworkError" not in text


def test_other_events_keep_their_reason(app: Flask) -> None:
    with app.test_request_context("/"):
        assert event_reason("incident.reopened", {"reason": "又发现篡改"}) == "又发现篡改"
