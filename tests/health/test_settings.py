"""The settings of paging health fail loudly, naming the variable."""

from __future__ import annotations

import pytest

from config.settings import ConfigError, load_settings

BASE = {"FENGHUO_ENV": "test", "FENGHUO_SECRET_KEY": "x" * 32, "FENGHUO_DATABASE_URL": "sqlite://"}


def test_the_defaults_are_text_logs_loopback_metrics_and_no_worker_port() -> None:
    settings = load_settings(BASE)
    assert settings.log_format == "text"
    assert settings.metrics_token is None
    assert settings.worker_metrics_port is None


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("FENGHUO_LOG_FORMAT", "xml", "must be one of text, json"),
        ("FENGHUO_METRICS_TOKEN", "short", "at least 16 characters"),
        ("FENGHUO_WORKER_METRICS_PORT", "ninety", "must be an integer"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        load_settings({**BASE, variable: value})
    assert caught.value.variable == variable


def test_json_logs_a_token_and_a_port_are_read() -> None:
    settings = load_settings(
        {
            **BASE,
            "FENGHUO_LOG_FORMAT": "json",
            "FENGHUO_METRICS_TOKEN": "s3cr3t-scrape-token",
            "FENGHUO_WORKER_METRICS_PORT": "9102",
        }
    )
    assert (settings.log_format, settings.metrics_token, settings.worker_metrics_port) == (
        "json",
        "s3cr3t-scrape-token",
        9102,
    )
