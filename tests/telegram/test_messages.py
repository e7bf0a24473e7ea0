"""What the alerts say: in the recipient's language, within Telegram's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from escalation.telegram.messages import (
    AlertFacts,
    Deadline,
    acknowledged_copy,
    parse_ack_callback,
    render_notice,
)

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "https://fenghuo.example.gov.cn"


def facts(**kw: object) -> AlertFacts:
    base: dict[str, object] = {
        "incident_id": 7,
        "number": "FH-2026-0007",
        "grade": "especially_major",
        "category": "network_attack",
        "title": "门户网站被篡改 <script>",
        "deadline": Deadline("向局领导报告", "Internal report", NOW + timedelta(minutes=25)),
    }
    base.update(kw)
    return AlertFacts(**base)  # type: ignore[arg-type]


def render(language: str, **kw: object) -> str:
    return render_notice(
        facts(**kw),
        language=language,
        public_url=URL,
        redact_titles=bool(kw.pop("redact", False)),
        tz=SHANGHAI,
        now=NOW,
    ).text


def test_it_speaks_chinese_by_default_with_the_grade_mark_and_time_left() -> None:
    text = render("zh_CN")
    assert text.startswith("🔴 <b>特别重大网络安全事件</b> · 网络攻击事件")
    assert "距「向局领导报告」截止还剩 25 分钟(截止 09:25)" in text
    assert f"{URL}/incidents/7" in text


def test_it_speaks_english_to_an_english_reader() -> None:
    text = render("en", grade="relatively_major")
    assert "🟡" in text and "Relatively major incident" in text
    assert "“Internal report” due in 25 min" in text


def test_it_escapes_the_title_and_redacts_it_when_the_policy_says_so() -> None:
    assert "&lt;script&gt;" in render("zh_CN")
    redacted = render_notice(
        facts(), language="en", public_url=URL, redact_titles=True, tz=SHANGHAI, now=NOW
    ).text
    assert "[redacted]" in redacted and "门户" not in redacted


def test_it_offers_acknowledge_and_open_within_64_bytes() -> None:
    rendered = render_notice(
        facts(incident_id=10**15),
        language="zh_CN",
        public_url=URL,
        redact_titles=False,
        tz=SHANGHAI,
        now=NOW,
    )
    ack, open_ = rendered.buttons
    assert ack.callback_data is not None and len(ack.callback_data.encode()) <= 64
    assert parse_ack_callback(ack.callback_data) == 10**15
    assert open_.url == f"{URL}/incidents/{10**15}"


def test_it_leaves_out_a_url_button_telegram_would_refuse() -> None:
    rendered = render_notice(
        facts(),
        language="zh_CN",
        public_url="http://127.0.0.1:8000",
        redact_titles=False,
        tz=SHANGHAI,
        now=NOW,
    )
    assert [b.url for b in rendered.buttons] == [None]
    assert "http://127.0.0.1:8000/incidents/7" in rendered.text


def test_it_keeps_a_long_title_within_telegram_s_4096_characters() -> None:
    text = render("zh_CN", title="长" * 5000)
    assert len(text) <= 4096


def test_it_edits_a_copy_to_say_who_acknowledged_and_drops_the_button() -> None:
    original = render("zh_CN")
    edited = acknowledged_copy(
        original,
        incident_id=7,
        who="王志强",
        at=NOW,
        language="zh_CN",
        public_url=URL,
        tz=SHANGHAI,
        now=NOW,
    )
    assert edited.text.endswith("✅ 已由 王志强 于 09:00 确认")
    assert all(b.callback_data is None for b in edited.buttons)


def test_it_ignores_callback_data_that_is_not_an_ack() -> None:
    assert parse_ack_callback("v1:ack:abc") is None
    assert parse_ack_callback("ack:7") is None
