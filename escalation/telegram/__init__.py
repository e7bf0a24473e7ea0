"""Telegram: linking people and group chats, rendering alerts, and the bot's answers.

The channel that sends lives in ``escalation.channels.telegram``; this package holds
what the channel, the bot process and the webhook route share: the tables
(``models``), linking (``linking``), message rendering (``messages``), the checked
command and button logic (``actions``), the queue of bot answers (``answers``), the
bot process (``bot``) and the CLI helpers (``cli``).
"""
