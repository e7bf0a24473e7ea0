"""Group robots: outgoing webhooks that post a notice into a group chat.

One small class per service, each behind the channel contract: WeCom (企业微信群机器人,
:mod:`~escalation.channels.robots.wecom`), DingTalk (钉钉自定义机器人, signed,
:mod:`~escalation.channels.robots.dingtalk`) and Feishu (飞书自定义机器人, signed,
:mod:`~escalation.channels.robots.feishu`). What they share — the HTTP call, the reading
of the answer, the per-robot rate limit — is :class:`~escalation.channels.robots.base.RobotChannel`.
"""

from __future__ import annotations

ROBOT_KINDS = ("wecom", "dingtalk", "feishu")
