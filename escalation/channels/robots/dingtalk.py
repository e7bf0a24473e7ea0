"""DingTalk custom robot (钉钉自定义机器人): a markdown message, signed.

``POST https://oapi.dingtalk.com/robot/send?access_token=TOKEN&timestamp=T&sign=S`` with
``{"msgtype": "markdown", "markdown": {"title": "…", "text": "…"}}``. With the robot's
"加签" security setting, ``T`` is the time in milliseconds (within an hour of DingTalk's
clock) and ``S`` is Base64(HMAC-SHA256(key = secret, message = ``T + "\\n" + secret``)),
URL-encoded once — by the HTTP client, which encodes query parameters; encoding it
beforehand as well is the usual signature-mismatch bug. Without a secret nothing is
signed (the robot then checks a keyword or the IP: put "烽火" in its keywords; every
notice starts with 【烽火】).
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
from escalation.channels.robots.base import LINK_TEXT, RobotChannel, markdown_safe


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query parameter, before URL encoding."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


@register("dingtalk")
class DingTalkRobot(RobotChannel):
    kind = "dingtalk"
    # 410100 / 130101: sending too fast; 90030: "webhook over limit" (the call quota).
    # 310000: the signature, the timestamp, the keyword or the IP check failed;
    # 300001: no robot with this access token; 400102: the robot is switched off.
    throttle_codes = MappingProxyType({410100: 60.0, 130101: 60.0, 90030: 600.0})
    permanent_codes = frozenset({310000, 300001, 400102})

    def request(
        self, message: OutgoingMessage, url: str, now: datetime
    ) -> tuple[str, Mapping[str, str], dict[str, Any]]:
        params: dict[str, str] = {}
        if message.destination_secret:
            ts = int(now.timestamp() * 1000)
            params = {"timestamp": str(ts), "sign": sign(message.destination_secret, ts)}
        text = markdown_safe(message.text_zh.strip()).replace("\n", "\n\n")
        body = {
            "msgtype": "markdown",
            "markdown": {
                "title": self.headline(message),
                "text": f"{text}\n\n[{LINK_TEXT}]({self.link(message)})",
            },
        }
        return url, params, body
