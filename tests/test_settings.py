from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings


def base(tmp_path: Path) -> dict[str, str]:
    return {"FENGHUO_INSTANCE_PATH": str(tmp_path)}


def test_the_embedded_default_needs_no_variable_and_keeps_its_generated_key(
    tmp_path: Path,
) -> None:
    first = load_settings(base(tmp_path))
    second = load_settings(base(tmp_path))
    assert first.database_url == f"sqlite:///{tmp_path / 'fenghuo.db'}"
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    assert not first.telegram_enabled


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FENGHUO_ENV", "staging"),
        ("FENGHUO_SWEEP_SECONDS", "0"),
        ("FENGHUO_SWEEP_SECONDS", "five"),
        ("FENGHUO_DATABASE_URL", "mysql://x"),
        ("FENGHUO_PUBLIC_URL", "fenghuo.local"),
        ("FENGHUO_TELEGRAM_TOKEN", "nocolon"),
        ("FENGHUO_TELEGRAM_MODE", "carrier-pigeon"),
        ("FENGHUO_POLICY", "/nonexistent/policy.toml"),
        ("FENGHUO_SECRET_KEY", "short"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**base(tmp_path), variable: value})
    assert err.value.variable == variable
    assert variable in str(err.value)


def test_production_requires_a_secret_key_and_a_public_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**base(tmp_path), "FENGHUO_ENV": "production"})
    assert err.value.variable == "FENGHUO_SECRET_KEY"
    with pytest.raises(ConfigError) as err:
        load_settings(
            {**base(tmp_path), "FENGHUO_ENV": "production", "FENGHUO_SECRET_KEY": "k" * 40}
        )
    assert err.value.variable == "FENGHUO_PUBLIC_URL"


def test_outside_production_links_point_where_the_web_face_listens(tmp_path: Path) -> None:
    settings = load_settings({**base(tmp_path), "FENGHUO_PORT": "8765"})
    assert settings.public_url == "http://127.0.0.1:8765"
    chosen = load_settings({**base(tmp_path), "FENGHUO_PUBLIC_URL": "https://fh.example.gov.cn"})
    assert chosen.public_url == "https://fh.example.gov.cn"
