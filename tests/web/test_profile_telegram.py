"""The profile page's Telegram block: off, or a one-time /start code."""

from __future__ import annotations

from dataclasses import replace

from flask import Flask

from tests.web.conftest import Browser, services_of


def test_without_a_token_the_profile_says_telegram_is_off(duty: Browser) -> None:
    page = duty.text("/profile?lang=en")
    assert "Telegram is off on this server." in page
    assert "/start" not in page


def test_with_a_token_the_profile_shows_the_same_link_code_until_it_expires(app: Flask) -> None:
    services = services_of(app)
    services.settings = replace(services.settings, telegram_token="123:ABC")
    browser = Browser(app)
    assert browser.login("netsec").status_code == 302
    first = browser.text("/profile?lang=en")
    second = browser.text("/profile?lang=en")
    assert "/start " in first
    code = first.split("/start ", 1)[1].split("<", 1)[0]
    assert len(code) >= 8
    assert code in second
    assert "works once" in first
