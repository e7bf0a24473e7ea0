"""Telegram: linking people and group chats, rendering alerts, and the bot's answers.

The channel that sends lives in ``escalation.channels.telegram``; this package holds
what the channel, the bot process and the webhook route share: the tables
(``models``); linking (``linking`` over ``link_codes``, ``person_links``,
``group_links``, ``profile``); message rendering (``messages`` over ``texts``,
``labels``, ``keyboards``); the checked command and button logic (``actions`` over
``incoming``, ``access``); the sender's parts (``sender_lock``, ``loop``, ``sending``,
``flush``, ``limiter``); the queue of bot answers (``answers``); the bot process
(``bot``) and the CLI helpers (``cli``).
"""
