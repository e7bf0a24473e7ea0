"""WeCom group robot (企业微信群机器人): a markdown message to the group's webhook.

``POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY`` with
``{"msgtype": "markdown", "markdown": {"content": "…"}}`` (developer.work.weixin.qq.com
document 91770). The key in the URL is the whole credential: no signature. The content
is at most 4,096 bytes of UTF-8. Answers ``{"errcode": 0, "errmsg": "ok"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from escalation.channels.base import OutgoingMessage, register
from escalation.channels.robots.base import LINK_TEXT, RobotChannel, markdown_safe

MAX_BYTES = 4096


def _cut(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", "ignore") + "…"


@register("wecom")
class WeComRobot(RobotChannel):
    kind = "wecom"
    # 45009: over the robot's 20 messages a minute. 93000: "invalid webhook url" (the key
    # is wrong or the robot was removed from the group).
    throttle_codes = MappingProxyType({45009: 60.0})
    permanent_codes = frozenset({93000})

    def request(
        self, message: OutgoingMessage, url: str, now: datetime
    ) -> tuple[str, Mapping[str, str], dict[str, Any]]:
        lines = markdown_safe(message.text_zh.strip()).splitlines() or [""]
        tail = f"\n\n[{LINK_TEXT}]({self.link(message)})"
        head = f"**{lines[0]}**"
        rest = "\n".join(lines[1:])
        text = head + ("\n" + rest if rest else "")
        content = _cut(text, MAX_BYTES - len(tail.encode())) + tail
        return url, {}, {"msgtype": "markdown", "markdown": {"content": content}}
