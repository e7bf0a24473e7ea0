"""The group-robot services as the channels meet them: HTTP on 127.0.0.1, JSON answers.

One server plays all three, on the paths the real ones use:

- WeCom ``POST /cgi-bin/webhook/send?key=KEY``;
- DingTalk ``POST /robot/send?access_token=TOKEN[&timestamp=MS&sign=SIG]``;
- Feishu ``POST /open-apis/bot/v2/hook/HOOK`` (``timestamp`` and ``sign`` in the body).

Like the real services it answers HTTP 200 with an error code in the body, and checks
what they check: the key, token or hook is one that was added; the body has the
documented shape for the message type (markdown for WeCom and DingTalk, ``post`` for
Feishu — the types the channels send); a robot added with a secret needs a valid
signature and a timestamp within an hour of the service's clock (:attr:`FakeRobots.now`),
computed the way each service documents it. Every request is kept as an
:class:`Arrival`, with the verdict the fake reached.

:meth:`FakeRobots.answer_next` scripts the next answers (a throttle code, an HTTP 500, a
body that is not JSON) after the checks have run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"
FEISHU_PREFIX = "/open-apis/bot/v2/hook/"
HOUR = 3600


@dataclass
class Arrival:
    """One request as it arrived, and what the fake made of it."""

    kind: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    body: Any
    verdict: str  # "ok", or why the service would refuse it
    answer: Any = None


@dataclass
class _Scripted:
    status: int
    body: Any  # dict -> JSON; bytes -> sent as they are
    headers: dict[str, str]


@dataclass
class FakeRobots:
    """Start with ``with FakeRobots() as fake:``; add robots, then point channels at the
    URLs :meth:`wecom`, :meth:`dingtalk` and :meth:`feishu` return."""

    now: Callable[[], float] = time.time
    arrivals: list[Arrival] = field(default_factory=list)
    _wecom: set[str] = field(default_factory=set)
    _dingtalk: dict[str, str | None] = field(default_factory=dict)
    _feishu: dict[str, str | None] = field(default_factory=dict)
    _script: deque[_Scripted] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeRobots:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status, payload, extra = fake._handle(
                    self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeRobots:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- robots ----------------------------------------------------------------------------

    def wecom(self, key: str) -> str:
        self._wecom.add(key)
        return f"{self.base_url}{WECOM_PATH}?key={key}"

    def dingtalk(self, token: str, secret: str | None = None) -> str:
        self._dingtalk[token] = secret
        return f"{self.base_url}{DINGTALK_PATH}?access_token={token}"

    def feishu(self, hook: str, secret: str | None = None) -> str:
        self._feishu[hook] = secret
        return f"{self.base_url}{FEISHU_PREFIX}{hook}"

    def answer_next(
        self,
        body: dict[str, Any] | bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests so, whatever they hold (after the checks)."""
        with self._lock:
            self._script.extend(_Scripted(status, body, headers or {}) for _ in range(times))

    def accepted(self) -> list[Arrival]:
        return [a for a in self.arrivals if a.verdict == "ok"]

    # --- the services ----------------------------------------------------------------------

    def _handle(
        self, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        if parts.path == WECOM_PATH:
            kind, (code, words) = "wecom", self._wecom_check(query, body)
            answer: Any = {"errcode": code, "errmsg": words}
        elif parts.path == DINGTALK_PATH:
            kind, (code, words) = "dingtalk", self._dingtalk_check(query, body)
            answer = {"errcode": code, "errmsg": words}
        elif parts.path.startswith(FEISHU_PREFIX):
            hook = parts.path[len(FEISHU_PREFIX) :]
            kind, (code, words) = "feishu", self._feishu_check(hook, body)
            answer = {"code": code, "msg": words, "data": {}}
            if code == 0:  # the legacy fields still come with a success
                answer.update(StatusCode=0, StatusMessage="success")
        else:
            kind, code, words, answer = "?", 404, "no such path", {"error": "not found"}
        verdict = "ok" if code == 0 else f"{code}: {words}"
        arrival = Arrival(kind, parts.path, query, headers, raw, body, verdict, answer)
        with self._lock:
            self.arrivals.append(arrival)
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            arrival.answer = scripted.body
            return scripted.status, scripted.body, scripted.headers
        return (404 if kind == "?" else 200), answer, {}

    def _wecom_check(self, query: dict[str, str], body: Any) -> tuple[int, str]:
        if query.get("key") not in self._wecom:
            return 93000, "invalid webhook url, hint: [fake]"
        if not isinstance(body, dict) or body.get("msgtype") != "markdown":
            return 40008, "invalid message type"
        content = (body.get("markdown") or {}).get("content")
        if not isinstance(content, str) or not content:
            return 44004, "empty content"
        if len(content.encode()) > 4096:
            return 40058, "markdown.content exceed max length 4096"
        return 0, "ok"

    def _dingtalk_check(self, query: dict[str, str], body: Any) -> tuple[int, str]:
        token = query.get("access_token", "")
        if token not in self._dingtalk:
            return 300001, "token is not exist"
        secret = self._dingtalk[token]
        if secret is not None:
            ts, got = query.get("timestamp", ""), query.get("sign", "")
            if not ts.isdigit() or abs(int(ts) / 1000 - self.now()) > HOUR:
                return 310000, "invalid timestamp"
            # The documented check: HmacSHA256(key=secret, message=timestamp\nsecret),
            # Base64, compared with the query parameter after one URL decoding.
            mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256)
            if not hmac.compare_digest(got, base64.b64encode(mac.digest()).decode()):
                return 310000, "sign not match"
        if not isinstance(body, dict) or body.get("msgtype") != "markdown":
            return 40035, "缺少参数 msgtype"
        markdown = body.get("markdown") or {}
        if not all(isinstance(markdown.get(k), str) and markdown[k] for k in ("title", "text")):
            return 40035, "缺少参数 markdown.title/text"
        return 0, "ok"

    def _feishu_check(self, hook: str, body: Any) -> tuple[int, str]:
        if hook not in self._feishu:
            return 19001, "param invalid: incoming webhook access token invalid"
        if not isinstance(body, dict):
            return 9499, "Bad Request"
        secret = self._feishu[hook]
        if secret is not None:
            ts, got = body.get("timestamp"), body.get("sign")
            if not isinstance(ts, str) or not ts.isdigit() or abs(int(ts) - self.now()) > HOUR:
                return 19021, SIGN_FAIL
            # The documented check: HmacSHA256(key=timestamp\nsecret, message=""), Base64.
            mac = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256)
            expected = base64.b64encode(mac.digest()).decode()
            if not isinstance(got, str) or not hmac.compare_digest(got, expected):
                return 19021, SIGN_FAIL
        if body.get("msg_type") != "post":
            return 9499, "Bad Request"
        post = ((body.get("content") or {}).get("post") or {}).get("zh_cn")
        if not isinstance(post, dict) or not isinstance(post.get("title"), str):
            return 9499, "Bad Request"
        paragraphs = post.get("content")
        if not isinstance(paragraphs, list) or not all(
            isinstance(p, list) and all(_feishu_element(e) for e in p) for p in paragraphs
        ):
            return 9499, "Bad Request"
        return 0, "success"


SIGN_FAIL = "sign match fail or timestamp is not within one hour from current time"


def _feishu_element(element: Any) -> bool:
    if not isinstance(element, dict):
        return False
    if element.get("tag") == "text":
        return isinstance(element.get("text"), str)
    if element.get("tag") == "a":
        return isinstance(element.get("text"), str) and isinstance(element.get("href"), str)
    return element.get("tag") in ("at", "img")
