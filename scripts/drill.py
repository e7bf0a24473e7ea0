"""A drill on the default policy, its durations scaled down, over real processes.

``fenghuo run`` (gunicorn serving the web and API, the worker, the Telegram bot) on a
fresh database, with the default policy divided by ``--scale`` (``fenghuo policy
drill``), Telegram answered by the wire-level fake Bot API and email by a real SMTP
server, both on loopback. Through the HTTP API, as a command center would:

1. the duty officer logs a major (重大) ransomware incident and acknowledges it at once;
2. nobody confirms at first: 3(2) the deputy director for network security is informed
   at once and reminded, the director at 10 "minutes", and the one who has not
   confirmed goes one up after ``confirm_within``;
3. the director confirms through the API; the duty officer files the internal report,
   which reaches the leading group on Telegram (with its 签收 button) and the director
   by email with the PDF attached;
4. the timeline of every receipt is printed, and the drill's checks pass or fail.

    .venv/bin/python scripts/drill.py [--scale 60] [--database-url URL]

Exit status 0 when every check held. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.channels.smtp_server import Mailbox, smtp_server  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

TOKEN = "123456:DRILL-token"  # noqa: S105 - the fake Bot API's token, on loopback
CHATS = {"netsec": 3003, "director": 3004, "lgmember": 3005, "duty": 3001, "cchead": 3002}
FENGHUO = [str(ROOT / ".venv" / "bin" / "fenghuo")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command
        [*FENGHUO, *args], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise SystemExit(f"fenghuo {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def api(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - http to loopback only
        base + "/api/v1" + path,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback
        return json.loads(reply.read())


def wait_http(url: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=60)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    minute = 60 / args.scale  # one policy minute, in seconds of the drill

    work = Path(tempfile.mkdtemp(prefix="fenghuo-drill-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    checks: list[tuple[str, bool]] = []
    with FakeTelegram(token=TOKEN) as fake, smtp_server(mailbox := Mailbox()) as smtp_port:
        env = {
            **os.environ,
            "FENGHUO_DATABASE_URL": args.database_url or f"sqlite:///{work / 'drill.db'}",
            "FENGHUO_INSTANCE_PATH": str(work / "instance"),
            "FENGHUO_PORT": str(port),
            "FENGHUO_PUBLIC_URL": "https://fenghuo.drill.example",
            "FENGHUO_SWEEP_SECONDS": "1",
            "FENGHUO_TELEGRAM_TOKEN": TOKEN,
            "FENGHUO_TELEGRAM_API_URL": fake.base_url,
            "FENGHUO_SMTP_HOST": "127.0.0.1",
            "FENGHUO_SMTP_PORT": str(smtp_port),
            "FENGHUO_SMTP_SECURITY": "none",
            "FENGHUO_SMTP_FROM": "fenghuo@drill.example",
            "FENGHUO_WORKER_CONSOLE": "false",
            "FENGHUO_DEMO_PASSWORD": "drill-password-1",
        }
        drill_policy = work / "drill.toml"
        drill_policy.write_text(cli(env, "policy", "drill", "--scale", str(args.scale)))
        env["FENGHUO_POLICY"] = str(drill_policy)
        cli(env, "db", "upgrade")
        cli(env, "demo", "seed")
        for login in ("netsec", "lgmember", "duty", "cchead"):
            cli(env, "telegram", "link", "--person", login, "--chat-id", str(CHATS[login]))
        cli(env, "destination", "add", "--person", "director", "--kind", "email",
            "--address", "director@drill.example", "--priority", "0")  # fmt: skip
        duty = cli(env, "token", "create", "--person", "duty", "--name", "drill").split()[-1]
        director = cli(env, "token", "create", "--person", "director", "--name", "drill")
        director = director.split()[-1]

        run = subprocess.Popen(  # noqa: S603 - our own command
            [*FENGHUO, "run", "--no-seed"],
            env=env,
            stdout=(work / "run.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(base + "/healthz", 60)
            t0 = time.monotonic()
            incident = api(base, duty, "POST", "/incidents", {
                "title": "勒索软件加密办公网文件服务器",
                "category": "malware",
                "grade": "major",
                "detected_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            })  # fmt: skip
            iid = incident["id"]
            api(base, duty, "POST", f"/incidents/{iid}/acknowledge", {})
            print(f"{incident['number']} logged and acknowledged by the duty officer at t=0")

            def at(policy_minutes: float) -> None:
                delay = t0 + policy_minutes * minute - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

            at(12)
            api(base, director, "POST", f"/incidents/{iid}/receipts/confirm", {})
            print(f"t={time.monotonic() - t0:5.1f}s  the director confirms through the API")
            at(17)
            report = api(base, duty, "POST", f"/incidents/{iid}/reports", {
                "kind": "initial",
                "items": {"entity": "局办公网文件服务器",
                          "occurrence": "发现文件被加密并留有勒索信",
                          "obligation": "internal"},
            })  # fmt: skip
            print(f"t={time.monotonic() - t0:5.1f}s  the internal report is filed")
            at(35)
            rows = api(base, duty, "GET", f"/incidents/{iid}/receipts")["items"]
        finally:
            run.send_signal(signal.SIGTERM)
            try:
                run.wait(timeout=30)
            except subprocess.TimeoutExpired:
                run.kill()

        print("\nreceipt timeline (drill seconds from logging; 1 policy minute = "
              f"{minute:g} s):")  # fmt: skip
        start = min(datetime.fromisoformat(r["informed_at"]) for r in rows) if rows else None

        def since(value: str | None) -> str:
            if not value or start is None:
                return "     "
            return f"{(datetime.fromisoformat(value) - start).total_seconds():5.1f}"

        print("  informed  leader  source    target                     outcome            at"
              "     channels")  # fmt: skip
        for r in rows:
            channels = ", ".join(
                f"{d['channel']}:{d['status']}" for d in r["deliveries"] if d["channel"] != "inbox"
            )
            state, when = (
                (f"confirmed ({r['confirmed_via']})", r["confirmed_at"]) if r["confirmed_at"]
                else ("went one up", r["escalated_at"]) if r["escalated_at"]
                else ("awaiting", None)
            )  # fmt: skip
            print(
                f"  {since(r['informed_at'])}s  {r['name']:<6} {r['source']:<9} "
                f"{r['target']:<26} {state:<18} {since(when)}  {channels or 'inbox only'}"
            )

        def has(login: str, source: str, **want: Any) -> bool:
            return any(
                r["login"] == login and r["source"] == source
                and all(r.get(k) == v or (v is True and r.get(k)) for k, v in want.items())
                for r in rows
            )  # fmt: skip

        checks += [
            ("3(2) informed despite the acknowledgement", has("netsec", "step")),
            ("the director informed", has("director", "step")),
            ("the leading group informed", has("lgmember", "step")),
            ("the director confirmed through the API",
             has("director", "step", confirmed_via="api")),
            ("3(2) not confirming went one up", has("netsec", "step", escalated_at=True)),
            ("someone was told in 3(2)'s stead", any(r["source"] == "escalated" for r in rows)),
            ("the report reached the leading group", has("lgmember", "report")),
        ]  # fmt: skip
        member = fake.messages_in(CHATS["lgmember"])
        checks.append((
            "Telegram carried the report with its 签收 button",
            any("文件被加密" in m.text and m.reply_markup and "v1:rc:" in json.dumps(m.reply_markup)
                for m in member),
        ))  # fmt: skip
        mails = [m for m in mailbox.received if "director@drill.example" in m.rcpt_tos]
        pdfs = [
            a for m in mails for a in m.message.iter_attachments()
            if a.get_content_type() == "application/pdf"
        ]  # fmt: skip
        checks.append(("the director's email carried the report's PDF", bool(pdfs)))
        checks.append(("report id answered", bool(report.get("id"))))
    print()
    for name, ok in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    print(f"\nlogs: {work / 'run.log'}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
