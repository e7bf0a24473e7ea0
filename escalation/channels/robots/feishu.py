"""Feishu custom bot (飞书自定义机器人): a rich-text (``post``) message, signed.

``POST https://open.feishu.cn/open-apis/bot/v2/hook/HOOK_ID`` with
``{"msg_type": "post", "content": {"post": {"zh_cn": {"title": …, "content": [[…]]}}}}``
— each inner list one paragraph of ``text`` and ``a`` (link) elements. With the bot's
"签名校验" setting the body also carries ``timestamp`` (seconds, as a string, within an
hour of Feishu's clock) and ``sign``: the reverse of DingTalk — the HMAC-SHA256 *key* is
``timestamp + "\\n" + secret`` and the message is empty, then Base64. Answers
``{"code": 0, "msg": "success", "data": {}}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from escalation.channels.base import OutgoingMessage, register
from escalation.channels.robots.base import LINK_TEXT, RobotChannel


def sign(secret: str, timestamp: int) -> str:
    """The body's ``sign``."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


@register("feishu")
class FeishuRobot(RobotChannel):
    kind = "feishu"
    code_field = "code"
    message_field = "msg"
    # 11232: over the bot's frequency limit. 19021: the signature or timestamp failed;
    # 19022: the IP is not allowed; 19024: the group's keyword is missing; 19001: no bot
    # with this hook id.
    throttle_codes = MappingProxyType({11232: 60.0})
    permanent_codes = frozenset({19001, 19021, 19022, 19024})

    def request(
        self, message: OutgoingMessage, url: str, now: datetime
    ) -> tuple[str, Mapping[str, str], dict[str, Any]]:
        paragraphs: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": line}] for line in message.text_zh.strip().splitlines()
        ]
        paragraphs.append([{"tag": "a", "text": LINK_TEXT, "href": self.link(message)}])
        body: dict[str, Any] = {}
        if message.destination_secret:
            ts = int(now.timestamp())
            body = {"timestamp": str(ts), "sign": sign(message.destination_secret, ts)}
        body["msg_type"] = "post"
        body["content"] = {
            "post": {"zh_cn": {"title": self.headline(message), "content": paragraphs}}
        }
        return url, {}, body
