"""A fake of the three group-robot services (WeCom, DingTalk, Feishu) on loopback."""

from tests.fakes.robots.server import Arrival, FakeRobots

__all__ = ["Arrival", "FakeRobots"]
