"""What templates may call: localised names, times in the policy's zone, durations.

Grades, statuses, categories and roles carry their own (zh, en) names in the record
(``incidents``), so the templates pick one by locale instead of duplicating them in the
catalogue. Times are stored in UTC and shown in the policy's time zone (``timezone`` in
the policy file); ``iso`` gives the exact instant for ``<time datetime>`` and for the
countdowns, which compute against the server's clock, not the browser's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale

from app.extensions import now, services
from app.web import bp
from app.web.translate import _
from incidents.grading import GRADE_COLOUR, GRADE_LEVEL, GRADE_NAMES, GRADES
from incidents.lifecycle import STATUS_NAMES
from incidents.models import CATEGORIES
from incidents.org import ROLES
from incidents.reports import KIND_NAMES

# Where an obligation's report goes (``to`` in the policy), as the bureau names it.
DESTINATIONS: dict[str, tuple[str, str]] = {
    "leading_group": ("局网络安全工作领导小组", "the bureau's network security leading group"),
    "cac": ("属地网信部门", "the cyberspace administration"),
    "superior": ("上级主管部门", "the superior competent department"),
    "police": ("公安机关", "the public security organ"),
}

OBLIGATION_STATUS: dict[str, tuple[str, str]] = {
    "pending": ("待报", "pending"),
    "met": ("按时报送", "met"),
    "late": ("迟报", "late"),
    "missed": ("超时未报", "missed"),
}


def lang() -> str:
    """The page's language code: ``en`` or ``zh_CN`` (the default)."""
    return "en" if str(get_locale()) == "en" else "zh_CN"


def pick(pair: tuple[str, str] | None, fallback: str = "") -> str:
    """The (zh, en) pair's text in the page's language."""
    if pair is None:
        return fallback
    return pair[1] if lang() == "en" else pair[0]


def name_in(table: Mapping[str, tuple[str, ...]], code: str | None) -> str:
    if code is None:
        return ""
    entry = table.get(code)
    if entry is None:
        return code
    return entry[1] if lang() == "en" else entry[0]


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """``value`` (UTC, aware) in the policy's time zone; empty for ``None``."""
    if value is None:
        return ""
    if value.tzinfo is None:  # stored times are aware; a naive one is UTC by contract
        value = value.replace(tzinfo=UTC)
    return value.astimezone(services().policy.tz).strftime(fmt)


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def duration(value: timedelta | float | int | None) -> str:
    """A span for people: ``2 h 05 min``, ``3 d 4 h``, ``45 s`` (signless)."""
    if value is None:
        return ""
    seconds = int(abs(value.total_seconds() if isinstance(value, timedelta) else value))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h", d=days, h=hours)
    if hours:
        return _("%(h)d h %(m)02d min", h=hours, m=minutes)
    if minutes:
        return _("%(m)d min %(s)02d s", m=minutes, s=secs)
    return _("%(s)d s", s=secs)


def countdown_text(due: datetime | None, at: datetime | None = None) -> str:
    """The server-rendered text of a countdown (the script keeps it ticking)."""
    if due is None:
        return ""
    left = due - (at or now())
    if left.total_seconds() < 0:
        return _("overdue by %(span)s", span=_clock(-left))
    return _clock(left)


def _clock(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return _("%(d)dd %(clock)s", d=days, clock=text) if days else text


def target_name(target: str) -> str:
    """A chain step's target (a role, a relative role or ``person:LOGIN``) for people."""
    if target.startswith("person:"):
        return target.removeprefix("person:")
    if target.startswith("on_duty:"):
        rosters = {
            "duty_officer": _("duty officer on duty"),
            "duty_leader": _("leader on duty"),
            "technical_oncall": _("technical on-call"),
        }
        return rosters.get(target.removeprefix("on_duty:"), target)
    relative = {
        "responsible_department_head": _("head of the responsible department"),
        "deputy_director_in_charge": _("deputy director in charge of the department"),
    }
    if target in relative:
        return relative[target]
    return name_in(ROLES, target)


def cancel_reason(reason: str) -> str:
    """Why a page was not sent; the escalation layer records it in English."""
    reasons = {
        "acknowledged": _("acknowledged"),
        "resolved": _("resolved"),
        "closed": _("closed"),
        "reopened": _("reopened"),
        "waived": _("waived"),
        "reported": _("reports filed"),
        "initial reports filed": _("reports filed"),
        "upgraded": _("upgraded"),
        "downgraded": _("downgraded"),
    }
    return reasons.get(reason, reason)


def event_label(kind: str) -> str:
    """A timeline event's kind for people; unknown kinds show as they are stored."""
    labels = {
        "incident.created": _("Logged"),
        "incident.updated": _("Details changed"),
        "incident.acknowledged": _("Acknowledged"),
        "incident.handling": _("Handling started"),
        "incident.resolved": _("Resolved"),
        "incident.closed": _("Closed"),
        "incident.reopened": _("Reopened"),
        "incident.regraded": _("Grade changed"),
        "report.filed": _("Report filed"),
        "obligation.met": _("Obligation met"),
        "obligation.late": _("Obligation fulfilled late"),
        "obligation.missed": _("Obligation breached"),
        "escalation.chain_started": _("Escalation chain started"),
        "escalation.fired": _("Notices sent"),
        "escalation.acknowledged": _("Escalation chain acknowledged"),
        "escalation.escalated_now": _("Escalated by hand"),
        "obligations.planned": _("Reporting deadlines set"),
        "obligations.replanned": _("Deadlines recomputed"),
        "notification.delivered": _("Notification delivered"),
        "notification.failed": _("Notification failed"),
        "notification.fallback": _("Notification passed to the next channel"),
        "intake.received": _("Alert received from monitoring"),
        "intake.repeated": _("Alert fired again"),
        "intake.resolved": _("Monitoring reports the alert resolved"),
        "intake.mapped": _("Alert labels mapped (with defaults)"),
        "intake.recurred": _("Alert fired again after closing: new incident opened"),
        "handoff.acknowledged": _("Handoff acknowledged"),
    }
    if kind in labels:
        return labels[kind]
    if kind.startswith(("case.", "accountability.", "police.")):
        return _("Accountability: %(step)s", step=kind.split(".", 1)[1].replace("_", " "))
    return kind


def kind_name(kind: str) -> str:
    """A department's kind (``incidents.org_io.DEPARTMENT_KINDS``) for people."""
    names = {
        "leadership": _("Leadership"),
        "command_center": _("Command center"),
        "office": _("Office"),
        "hr": _("Human resources"),
        "business": _("Business department"),
        "leading_group": _("Leading group"),
    }
    return names.get(kind, kind)


def chain_reason(reason: str) -> str:
    """Why a run of the escalation chain started."""
    names = {
        "opened": _("when logged"),
        "upgraded": _("after an upgrade"),
        "downgraded": _("after a downgrade"),
        "reopened": _("after reopening"),
    }
    return names.get(reason, reason)


def channel_name(kind: str) -> str:
    names = {
        "inbox": _("in-app inbox"),
        "console": _("console"),
        "telegram": _("Telegram"),
        "email": _("email"),
        "wecom": _("WeCom group"),
        "dingtalk": _("DingTalk group"),
        "feishu": _("Feishu group"),
    }
    return names.get(kind, kind)


def receipt_via(via: str) -> str:
    """How a leader confirmed receipt (签收)."""
    names = {
        "web": _("on the web"),
        "api": _("through the API"),
        "telegram": _("in Telegram"),
        "email": _("by the email link"),
    }
    return names.get(via, via)


def delivery_status(status: str) -> str:
    names = {
        "pending": _("queued"),
        "sending": _("sending"),
        "sent": _("delivered"),
        "failed": _("not delivered"),
    }
    return names.get(status, status)


def notice_name(kind: str) -> str:
    names = {
        "warning": _("Deadline warning"),
        "breach": _("Deadline breached"),
        "acknowledged": _("Acknowledged notice"),
        "resolved": _("Resolved notice"),
        "reopened": _("Reopened notice"),
        "case": _("Accountability notice"),
        "notice": _("Notice"),
        "step": _("Escalation page"),
        "inform": _("Leaders informed"),
        "report": _("Report delivered"),
        "fallback": _("Passed one up (unreachable)"),
    }
    return names.get(kind, kind)


def percent(share: float | None) -> str:
    """A share (0–1) as a whole percentage; a dash when there is nothing to share."""
    if share is None:
        return "—"
    return f"{round(share * 100)}%"


def iso_local(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO 8601 time (as ``escalation.queries`` answers) in the policy's time zone."""
    if not value:
        return ""
    return local(datetime.fromisoformat(value), fmt)


def _inbox_unread() -> int:
    from app.web.inbox import unread

    return unread()


def _tz_name() -> str:
    return services().policy.timezone


def _server_now() -> str:
    return iso(now())


@bp.record_once
def _globals(state: BlueprintSetupState) -> None:
    # Globals rather than a context processor: imported macros see globals only.
    state.app.jinja_env.globals.update(
        lang=lang,
        pick=pick,
        percent=percent,
        kind_name=kind_name,
        target_name=target_name,
        cancel_reason=cancel_reason,
        chain_reason=chain_reason,
        channel_name=channel_name,
        receipt_via=receipt_via,
        delivery_status=delivery_status,
        notice_name=notice_name,
        GRADES=GRADES,
        report_kinds=KIND_NAMES,
        GRADE_COLOUR=GRADE_COLOUR,
        GRADE_LEVEL=GRADE_LEVEL,
        tz_name=_tz_name,
        server_now=_server_now,
        inbox_unread=_inbox_unread,
        iso_local=iso_local,
    )


@bp.app_template_filter("grade_name")
def _grade_name(code: str | None) -> str:
    return name_in(GRADE_NAMES, code)


@bp.app_template_filter("status_name")
def _status_name(code: str | None) -> str:
    return name_in(STATUS_NAMES, code)


@bp.app_template_filter("category_name")
def _category_name(code: str | None) -> str:
    return name_in(CATEGORIES, code)


@bp.app_template_filter("role_name")
def _role_name(code: str | None) -> str:
    return name_in(ROLES, code)


@bp.app_template_filter("destination_name")
def _destination_name(code: str | None) -> str:
    return name_in(DESTINATIONS, code)


@bp.app_template_filter("obligation_status")
def _obligation_status(code: str | None) -> str:
    return name_in(OBLIGATION_STATUS, code)


@bp.app_template_filter("event_label")
def _event_label(kind: str) -> str:
    return event_label(kind)


@bp.app_template_filter("local")
def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return local(value, fmt)


@bp.app_template_filter("iso")
def _iso(value: datetime | None) -> str:
    return iso(value)


@bp.app_template_filter("duration")
def _duration(value: timedelta | float | int | None) -> str:
    return duration(value)


@bp.app_template_filter("countdown")
def _countdown(due: datetime | None) -> str:
    return countdown_text(due)
