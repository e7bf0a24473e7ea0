"""The response over time: reporting obligations, escalation chains, timers, the outbox.

Faces call the use cases in ``escalation.response`` and read ``escalation.queries`` and
``escalation.stats``; the worker (``escalation.worker``) sweeps due timers and delivers
the outbox through the channels in ``escalation.channels``. docs/escalation.md explains
how the pieces fit.
"""
