"""Screenshots of the web face for the README (``make screenshots``).

Builds a small, realistic command-center morning on a fresh SQLite database — the demo
organisation, six incidents of every grade in different states, one breached report,
one report filed — with the server clock frozen at 10:20 Beijing time, serves it on
loopback, and has Debian's Chromium photograph the dashboard, an incident page and a
report page at desktop and phone width, in Chinese and in English, into
``docs/screenshots/``.

Usage: ``python scripts/screenshots.py [--out DIR] [--chromium PATH]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import Services  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from config.settings import load_settings  # noqa: E402
from escalation import response  # noqa: E402
from escalation.channels.inbox import InboxChannel  # noqa: E402
from escalation.outbox import deliver  # noqa: E402
from escalation.sweep import sweep  # noqa: E402
from incidents.accounts import set_language, set_password  # noqa: E402
from incidents.audit import Actor, system_actor  # noqa: E402
from incidents.clock import FrozenClock  # noqa: E402
from incidents.inputs import IncidentInput  # noqa: E402
from incidents.org import Department, Person, System  # noqa: E402
from incidents.org_io import import_org  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "screenshots-only"  # noqa: S105  (a throwaway database, deleted after)
BEIJING = timedelta(hours=8)
# 10:20 on a Friday morning, Beijing time.
NOW = datetime(2026, 11, 27, 10, 20, tzinfo=UTC) - BEIJING
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
LANGUAGES = ("zh_CN", "en")


def at(hour: int, minute: int, day: int = 27) -> datetime:
    """A Beijing wall-clock time on the scene's day, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - BEIJING


@dataclass
class Scene:
    app: Flask
    clock: FrozenClock
    incident_id: int
    incident_report: tuple[int, int]


def _services(app: Flask) -> Services:
    found: Services = app.extensions["fenghuo"]
    return found


def _ids(s: Session) -> tuple[dict[str, int], dict[str, int], dict[str, Person]]:
    departments = {d.code: d.id for d in s.scalars(select(Department))}
    systems = {x.code: x.id for x in s.scalars(select(System))}
    people = {p.login: p for p in s.scalars(select(Person))}
    return departments, systems, people


def _actor(person: Person) -> Actor:
    return Actor(person.id, person.login, "web")


def build_scene(directory: Path) -> Scene:
    """The database and app of the screenshots (see the module doc)."""
    url = f"sqlite:///{directory / 'screens.db'}"
    upgrade(url)
    clock = FrozenClock(at(7, 0, day=25))
    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": url,
            "FENGHUO_INSTANCE_PATH": str(directory / "instance"),
            "FENGHUO_ENV": "test",
            "FENGHUO_SECRET_KEY": "screenshots-" * 4,
        }
    )
    app = create_app(settings, clock=clock)
    factory = _services(app).sessions
    policy = _services(app).policy
    with factory() as s, s.begin():
        import_org(
            s,
            (ROOT / "app" / "demo" / "organisation.yaml").read_text(encoding="utf-8"),
            actor=system_actor("cli"),
            now=clock.now(),
        )
    with factory() as s, s.begin():
        for person in s.scalars(select(Person)):
            set_password(
                s, person=person, password=PASSWORD, actor=system_actor("cli"), now=clock.now()
            )
    with factory() as s:
        departments, systems, people = _ids(s)
    duty, netsec, cchead = (_actor(people[x]) for x in ("duty", "netsec", "cchead"))

    def log(when: datetime, detected: datetime, **fields: Any) -> int:
        clock.set(when)
        data = IncidentInput.parse({"detected_at": detected.isoformat(), **fields})
        with factory() as s, s.begin():
            return response.open_incident(s, data=data, actor=duty, now=when, policy=policy).id

    def do(when: datetime, name: str, **kwargs: Any) -> Any:
        clock.set(when)
        with factory() as s, s.begin():
            return getattr(response, name)(s, now=when, **kwargs)

    def work(until: datetime) -> None:
        """What the worker does: fire what is due and deliver to the in-app inbox."""
        channels = {"inbox": InboxChannel(factory, clock)}
        clock.set(until)
        while sweep(factory, now=until, policy=policy).more:
            pass
        while deliver(
            factory, now=until, channels=channels, policy=policy, worker_id="screens"
        ).more:
            pass

    # Two days ago: a general incident, handled, reported and closed.
    old = log(
        at(9, 10, 25),
        at(9, 0, 25),
        title="协同办公系统账号异常登录",
        category="abnormal_behaviour",
        system_ids=[systems["oa"]],
    )
    do(at(9, 30, 25), "start_handling", incident_id=old, actor=duty)
    do(
        at(11, 0, 25),
        "file_report",
        incident_id=old,
        kind="initial",
        actor=duty,
        policy=policy,
        items={"entity": "局办公室；协同办公系统。", "occurrence": "发现异常登录，已冻结账号。"},
    )
    do(at(15, 0, 25), "resolve", incident_id=old, actor=duty, policy=policy, summary="已重置口令")
    do(at(15, 30, 25), "close", incident_id=old, actor=duty)
    work(at(16, 0, 25))

    # Yesterday: relatively major, the initial reports filed on time; still being handled.
    reported = log(
        at(16, 10, 26),
        at(16, 0, 26),
        title="交通管理综合信息平台遭受DDoS攻击",
        category="network_attack",
        system_ids=[systems["traffic-platform"]],
        impact={"cii": True, "main_function_outage_minutes": 45},
    )
    do(at(16, 20, 26), "acknowledge", incident_id=reported, actor=netsec)
    do(at(16, 25, 26), "start_handling", incident_id=reported, actor=duty)
    report = do(
        at(16, 50, 26),
        "file_report",
        incident_id=reported,
        kind="initial",
        actor=duty,
        policy=policy,
        items={
            "entity": "某市局交通管理处；交通管理综合信息平台（关键信息基础设施，网络安全等级保护"
            "第三级，主管部门：交通管理处，运维部门：指挥中心）。",
            "occurrence": "2026年11月26日16时00分，指挥中心监测发现交通管理综合信息平台遭受大流量"
            "DDoS攻击，主要功能中断约45分钟。事件类型：网络攻击事件；级别：较大。\n"
            "已采取措施：启用运营商流量清洗，切换备用出口链路，16时45分主要功能恢复。",
            "trend": "攻击流量仍间歇出现，预计24小时内可能再次发起攻击。",
            "preliminary_cause": "初步判断为境外僵尸网络发起的反射放大攻击。",
            "next_steps": "持续流量清洗，联系运营商封堵攻击源；请求属地网信部门协调溯源支持。",
            "scene": "已保存防火墙、流量清洗设备日志及抓包数据，镜像留存。",
        },
    )
    work(at(18, 0, 26))

    # This morning.
    log(
        at(8, 5),
        at(7, 50),
        title="局门户网站首页被篡改",
        category="network_attack",
        system_ids=[systems["portal"]],
        impact={"site_class": "municipal", "defacement": True, "defacement_home_minutes": 40},
    )
    malware = log(
        at(8, 40),
        at(8, 30),
        title="财务管理系统终端发现勒索病毒告警",
        category="malware",
        system_ids=[systems["finance-system"]],
    )
    do(at(8, 50), "acknowledge", incident_id=malware, actor=cchead)
    work(at(9, 30))
    major = log(
        at(9, 45),
        at(9, 40),
        title="交通管理综合信息平台整体中断",
        category="equipment_failure",
        system_ids=[systems["traffic-platform"]],
        impact={"cii": True, "system_outage_minutes": 75, "people_affected": 30000},
    )
    do(at(9, 52), "acknowledge", incident_id=major, actor=netsec)
    do(at(9, 55), "start_handling", incident_id=major, actor=duty)
    work(at(10, 0))
    log(
        at(10, 8),
        at(10, 5),
        title="疑似公民个人信息数据库泄露",
        category="data_security",
        impact={"pi_records_leaked": 2_300_000, "data_involved": "important"},
        responsible_department_id=departments["finance"],
    )
    work(NOW)
    return Scene(app=app, clock=clock, incident_id=major, incident_report=(reported, report.id))


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port for the duration of the block."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _set_language(scene: Scene, language: str) -> None:
    factory: sessionmaker[Session] = _services(scene.app).sessions
    with factory() as s, s.begin():
        person = s.scalars(select(Person).where(Person.login == "duty")).one()
        set_language(
            s, person=person, language=language, actor=system_actor("cli"), now=scene.clock.now()
        )


def shoot(scene: Scene, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    incident, report = scene.incident_report
    pages = {
        "dashboard": "/",
        "incident": f"/incidents/{scene.incident_id}",
        "report": f"/incidents/{incident}/reports/{report}",
    }
    with serve(scene.app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for language in LANGUAGES:
                _set_language(scene, language)
                for size, (width, height) in SIZES.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        locale="zh-CN" if language == "zh_CN" else "en-GB",
                        timezone_id="Asia/Shanghai",
                    )
                    page = context.new_page()
                    page.goto(f"{base}/login")
                    page.fill("#login", "duty")
                    page.fill("#password", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url(f"{base}/")
                    for name, path in pages.items():
                        page.goto(base + path)
                        page.wait_for_timeout(300)  # the countdowns' first tick
                        target = out / f"{name}-{size}-{language}.png"
                        page.screenshot(path=str(target), full_page=True)
                        written.append(target)
                    context.close()
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    if not Path(args.chromium).exists():
        print(f"no Chromium at {args.chromium}: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="fenghuo-screens-") as tmp:
        scene = build_scene(Path(tmp))
        written = shoot(scene, args.out, args.chromium)
        _services(scene.app).engine.dispose()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
