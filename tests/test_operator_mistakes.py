"""Operator mistakes fail loudly (issue 12): each gives one line that names what is
wrong, exits non-zero, and writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from config.policy import load_policy
from config.settings import load_settings
from escalation.worker import run_worker_from_settings
from incidents.audit import Actor, AuditEvent
from incidents.clock import FrozenClock
from incidents.errors import ValidationError
from incidents.org import Person
from incidents.org_io import import_org
from tests.conftest import DEMO_ORG, T0, TEST_SECRET

POLICY = Path(__file__).resolve().parent.parent / "config" / "policy.toml"


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def _policy_naming(tmp_path: Path, login: str) -> Path:
    text = POLICY.read_text(encoding="utf-8")
    changed = text.replace(
        'notify = ["on_duty:duty_officer"', f'notify = ["person:{login}", "on_duty:duty_officer"', 1
    )
    assert changed != text
    path = tmp_path / "policy.toml"
    path.write_text(changed, encoding="utf-8")
    return path


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_DEMO_PASSWORD": "demo-pass-1",
    }


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# --- the policy names a person the organisation lacks ------------------------------------------


def test_policy_check_names_an_unknown_person_and_its_key(
    env: dict[str, str], tmp_path: Path
) -> None:
    _run(env, "demo", "seed")
    code, out = _run(env, "policy", "check", str(_policy_naming(tmp_path, "nosuchlogin")))
    assert code == 1
    assert re.search(r"grades\.\w+\.chain\[0\]\.notify\[0\]: person:nosuchlogin", out), out
    code, out = _run(env, "policy", "check", str(_policy_naming(tmp_path, "duty")))
    assert code == 0, out


def test_the_worker_refuses_to_start_on_a_policy_naming_an_unknown_person(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    sqlite_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = load_settings(
        {
            "FENGHUO_DATABASE_URL": sqlite_url,
            "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
            "FENGHUO_SECRET_KEY": TEST_SECRET,
            "FENGHUO_ENV": "test",
        }
    )
    before = _count(factory, AuditEvent)
    with pytest.raises(SystemExit) as stopped:
        run_worker_from_settings(
            settings, load_policy(_policy_naming(tmp_path, "nosuchlogin")), clock
        )
    assert stopped.value.code == 2
    assert "person:nosuchlogin is no active person" in capsys.readouterr().err
    assert _count(factory, AuditEvent) == before


# --- the database URL ------------------------------------------------------------------------


def test_a_sqlite_url_in_a_missing_folder_is_refused_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    env = {
        "FENGHUO_DATABASE_URL": f"sqlite:///{missing}/x.db",
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    for command in (("db", "upgrade"), ("audit", "verify")):
        code, out = _run(env, *command)
        assert code == 1
        assert "FENGHUO_DATABASE_URL" in out and "does not exist" in out
        assert len(out.strip().splitlines()) == 1
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("postgresql://postgres@127.0.0.1:1/fenghuo", "refused"),
        ("postgresql://postgres@127.0.0.1:5432/fh_no_such_database", "does not exist"),
    ],
)
def test_a_database_that_cannot_be_reached_is_one_line_naming_the_setting(
    pg_database: str, tmp_path: Path, url: str, cause: str
) -> None:
    env = {"FENGHUO_DATABASE_URL": url, "FENGHUO_INSTANCE_PATH": str(tmp_path / "i")}
    code, out = _run(env, "audit", "verify")
    assert code == 1
    assert len(out.strip().splitlines()) == 1, out
    assert out.startswith("Error: FENGHUO_DATABASE_URL: cannot connect to") and cause in out


# --- the organisation file ---------------------------------------------------------------------

CLI = Actor(None, "cli", "cli")
ONE_PERSON = """
people:
  - login: zhang
    name: 张三
    positions: 5
"""
TWICE = """
people:
  - login: zhang
    name: 张三
  - login: zhang
    name: 李四
"""


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (ONE_PERSON, "people[0].positions", "must be a list"),
        (TWICE, "people[1].login", "appears twice"),
        ("people:\n  - {login: li, name: 李, admin: 'no'}\n", "people[0].admin", "true or false"),
        ("people: {login: li}\n", "people", "must be a list"),
    ],
)
def test_an_organisation_file_mistake_names_the_entry_and_key_and_writes_nothing(
    factory: sessionmaker[Session], text: str, field: str, message: str
) -> None:
    before = (_count(factory, Person), _count(factory, AuditEvent))
    with pytest.raises(ValidationError) as refused, factory() as s, s.begin():
        import_org(s, text, actor=CLI, now=T0)
    assert refused.value.field == field
    assert message in refused.value.message
    assert (_count(factory, Person), _count(factory, AuditEvent)) == before


def test_the_demo_organisation_still_imports(factory: sessionmaker[Session]) -> None:
    with factory() as s, s.begin():
        import_org(s, DEMO_ORG.read_text(encoding="utf-8"), actor=CLI, now=T0)
    assert _count(factory, Person) > 5
