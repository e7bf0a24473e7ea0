"""Where people and groups are reached: ordered destinations, group robots, the email the
organisation gives — the rules in ``escalation.destinations`` and the ``fenghuo
destination`` commands over them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from escalation.destinations import (
    ORG_EMAIL,
    add_group_destination,
    add_person_destination,
    group_destinations,
    order_destinations,
    ordered_destinations,
    remove_destination,
    sync_email_destination,
    sync_email_destinations,
)
from escalation.enqueue import OutboxWriter
from escalation.models import Destination, Notification
from incidents.audit import AuditEvent
from incidents.errors import NotFound, ValidationError
from incidents.org import Person
from tests.conftest import T0, actor_for
from tests.escalation.support import open_

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7a0c-4bc4-97a0-0ec2f1a5aaa0"
DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=8ca04016abcdef0123"


def kinds_in_order(session: Session, person: Person) -> list[tuple[str, str]]:
    return [(d.kind, d.address) for d in ordered_destinations(session, person.id)]


def audit_kinds(session: Session) -> list[str]:
    return [e.kind for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


# --- a person's ordered destinations -----------------------------------------------------


def test_a_new_destination_goes_last_and_the_order_can_be_changed(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    director = org["director"]
    actor = actor_for(org["admin"])
    with factory() as s, s.begin():
        tg = add_person_destination(
            s, person_id=director.id, kind="telegram", address="4242", actor=actor, now=T0
        )
        mail = add_person_destination(
            s,
            person_id=director.id,
            kind="email",
            address="director@example.gov.cn",
            actor=actor,
            now=T0,
        )
        assert kinds_in_order(s, director) == [
            ("telegram", "4242"),
            ("email", "director@example.gov.cn"),
        ]
        order_destinations(s, person_id=director.id, destination_ids=[mail.id], actor=actor, now=T0)
        assert [d.id for d in ordered_destinations(s, director.id)] == [mail.id, tg.id]
        # The notice goes to the first one (with the inbox); the rest are its fallbacks.
        assert OutboxWriter(s, T0).channels_for(director.id) == [
            ("inbox", None),
            ("email", mail.id),
        ]
        assert audit_kinds(s)[-3:] == [
            "destination.enabled",
            "destination.enabled",
            "destination.reordered",
        ]


@pytest.mark.parametrize(
    ("kind", "address", "field"),
    [
        ("email", "director-at-example", "address"),
        ("email", "", "address"),
        ("telegram", "@director", "address"),
        ("telegram", "-100123", "address"),
        ("wecom", WECOM, "kind"),
        ("inbox", "x", "kind"),
    ],
)
def test_a_bad_person_destination_is_refused_naming_the_field(
    factory: sessionmaker[Session], org: dict[str, Person], kind: str, address: str, field: str
) -> None:
    with factory() as s, s.begin(), pytest.raises(ValidationError) as caught:
        add_person_destination(
            s,
            person_id=org["director"].id,
            kind=kind,
            address=address,
            actor=actor_for(org["admin"]),
            now=T0,
        )
    assert caught.value.field == field


def test_the_order_names_only_the_persons_own_destinations_once(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    actor = actor_for(org["admin"])
    with factory() as s, s.begin():
        mine = add_person_destination(
            s, person_id=org["director"].id, kind="telegram", address="1", actor=actor, now=T0
        )
        theirs = add_person_destination(
            s, person_id=org["deputy"].id, kind="telegram", address="2", actor=actor, now=T0
        )
        for ids in ([theirs.id], [mine.id, mine.id], []):
            with pytest.raises(ValidationError) as caught:
                order_destinations(
                    s, person_id=org["director"].id, destination_ids=ids, actor=actor, now=T0
                )
            assert caught.value.field == "destination_ids"


def test_removing_deletes_an_unused_destination_and_disables_a_used_one(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    actor = actor_for(org["admin"])
    with factory() as s, s.begin():
        spare = add_person_destination(
            s, person_id=org["director"].id, kind="telegram", address="9", actor=actor, now=T0
        )
        for person in org.values():
            add_person_destination(
                s,
                person_id=person.id,
                kind="email",
                address=f"{person.login}@example.gov.cn",
                actor=actor,
                now=T0,
            )
    open_(factory, org, "major")
    with factory() as s, s.begin():
        used = s.scalars(
            select(Notification.destination_id).where(Notification.destination_id.is_not(None))
        ).first()
        assert used is not None
        assert remove_destination(s, destination_id=spare.id, actor=actor, now=T0) == "deleted"
        assert remove_destination(s, destination_id=used, actor=actor, now=T0) == "disabled"
        assert s.get(Destination, spare.id) is None
        kept = s.get(Destination, used)
        assert kept is not None and not kept.enabled and kept.disabled_reason == "removed by admin"
        with pytest.raises(NotFound):
            remove_destination(s, destination_id=spare.id, actor=actor, now=T0)


# --- group destinations ------------------------------------------------------------------


def test_a_group_destination_has_no_person_its_name_and_its_secret_kept_out_of_the_trail(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        dest = add_group_destination(
            s,
            kind="dingtalk",
            name="leading-group",
            url=DINGTALK,
            secret="SECabc123",
            actor=actor_for(org["admin"]),
            now=T0,
        )
        assert (dest.person_id, dest.label, dest.address, dest.secret) == (
            None,
            "leading-group",
            DINGTALK,
            "SECabc123",
        )
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event is not None and event.kind == "destination.enabled"
        assert "SECabc123" not in event.data and "8ca04016abcdef0123" not in event.data
        assert event.payload["signed"] is True
        # No one's broadcast: a person's notice does not go to the group.
        assert OutboxWriter(s, T0).channels_for(org["director"].id) == [("inbox", None)]
        assert [g.label for g in group_destinations(s)] == ["leading-group"]


def test_adding_a_group_again_updates_its_url_and_secret(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    actor = actor_for(org["admin"])
    with factory() as s, s.begin():
        first = add_group_destination(
            s, kind="feishu", name="ops", url="https://open.feishu.cn/open-apis/bot/v2/hook/a1",
            secret="one", actor=actor, now=T0,
        )  # fmt: skip
        first.enabled = False
        again = add_group_destination(
            s, kind="feishu", name="ops", url="https://open.feishu.cn/open-apis/bot/v2/hook/b2",
            secret="two", actor=actor, now=T0,
        )  # fmt: skip
        assert again.id == first.id and again.enabled
        assert (again.address[-2:], again.secret) == ("b2", "two")
        assert len(group_destinations(s)) == 1


@pytest.mark.parametrize(
    ("kind", "name", "url", "secret", "field"),
    [
        ("slack", "ops", WECOM, "", "kind"),
        ("wecom", "领导小组", WECOM, "", "name"),
        ("wecom", "broadcast", WECOM, "", "name"),
        ("wecom", "ops", "qyapi.weixin.qq.com/cgi-bin/webhook/send", "", "url"),
        ("wecom", "ops", "ftp://qyapi.weixin.qq.com/x", "", "url"),
        ("wecom", "ops", WECOM, "SEC1", "secret"),
    ],
)
def test_a_bad_group_destination_is_refused_naming_the_field(
    factory: sessionmaker[Session],
    org: dict[str, Person],
    kind: str,
    name: str,
    url: str,
    secret: str,
    field: str,
) -> None:
    with factory() as s, s.begin(), pytest.raises(ValidationError) as caught:
        add_group_destination(
            s, kind=kind, name=name, url=url, secret=secret, actor=actor_for(org["admin"]), now=T0
        )
    assert caught.value.field == field


def test_one_name_cannot_name_two_kinds_of_group(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    actor = actor_for(org["admin"])
    with factory() as s, s.begin():
        add_group_destination(s, kind="wecom", name="ops", url=WECOM, actor=actor, now=T0)
        with pytest.raises(ValidationError, match="already names a wecom") as caught:
            add_group_destination(s, kind="dingtalk", name="ops", url=DINGTALK, actor=actor, now=T0)
    assert caught.value.field == "name"


# --- the organisation's email ------------------------------------------------------------


def test_the_organisations_email_becomes_a_destination_that_follows_it(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        person = s.get(Person, org["deputy"].id)
        assert person is not None
        add_person_destination(
            s, person_id=person.id, kind="telegram", address="77", actor=actor_for(person), now=T0
        )
        person.email = "deputy@example.gov.cn"
        made = sync_email_destination(s, person, T0)
        assert made is not None and made.label == ORG_EMAIL
        assert kinds_in_order(s, person) == [("telegram", "77"), ("email", "deputy@example.gov.cn")]
        assert sync_email_destination(s, person, T0) is made  # nothing changes the second time

        person.email = "deputy.new@example.gov.cn"
        assert sync_email_destination(s, person, T0) is made
        assert made.address == "deputy.new@example.gov.cn"

        person.email = ""
        assert sync_email_destination(s, person, T0) is None
        assert not made.enabled and "no email address" in made.disabled_reason

        person.email = "deputy.new@example.gov.cn"
        assert sync_email_destination(s, person, T0) is made and made.enabled
        events = s.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "destination", AuditEvent.subject_id == made.id
            )
        ).all()
        assert {e.actor_login for e in events} == {"system"}
        assert len(events) == 4  # made, moved, disabled, enabled again


def test_an_address_the_person_already_has_is_left_as_the_administrator_set_it(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        person = s.get(Person, org["director"].id)
        assert person is not None
        manual = add_person_destination(
            s,
            person_id=person.id,
            kind="email",
            address="director@example.gov.cn",
            actor=actor_for(org["admin"]),
            now=T0,
        )
        manual.enabled, manual.disabled_reason = False, "550 no such user"  # bounced
        person.email = "Director@example.gov.cn"
        assert sync_email_destination(s, person, T0) is manual
        assert not manual.enabled  # a bounce is not undone by the import
        person.email = "not an address"
        assert sync_email_destination(s, person, T0) is None
        assert len(ordered_destinations(s, person.id)) == 1


def test_after_an_import_everyone_with_an_email_has_it_as_a_destination_once(
    factory: sessionmaker[Session], org: dict[str, Person]
) -> None:
    with factory() as s, s.begin():
        for login in ("director", "deputy"):
            person = s.get(Person, org[login].id)
            assert person is not None
            person.email = f"{login}@example.gov.cn"
        assert sync_email_destinations(s, T0) == 2
        before = len(audit_kinds(s))
        assert sync_email_destinations(s, T0) == 2
        assert len(audit_kinds(s)) == before  # nothing changed, nothing recorded
        emails = s.scalars(select(Destination.address).where(Destination.kind == "email")).all()
    assert sorted(emails) == ["deputy@example.gov.cn", "director@example.gov.cn"]


# --- the commands ------------------------------------------------------------------------


@pytest.fixture
def env(sqlite_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        "FENGHUO_DATABASE_URL": sqlite_url,
        "FENGHUO_INSTANCE_PATH": str(tmp_path / "instance"),
        "FENGHUO_DEMO_PASSWORD": "demo-pass-1",
    }
    assert run(env, "demo", "seed")[0] == 0
    return env


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_the_commands_add_order_list_and_remove(env: dict[str, str]) -> None:
    code, out = run(env, "destination", "add", "--person", "director", "--kind", "telegram",
                    "--address", "4242")  # fmt: skip
    assert code == 0, out
    tg_id = out.split()[0].lstrip("#")
    code, out = run(env, "destination", "add", "--person", "director", "--kind", "email",
                    "--address", "director@example.gov.cn")  # fmt: skip
    assert code == 0, out
    mail_id = out.split()[0].lstrip("#")

    code, out = run(env, "destination", "order", "--person", "director", mail_id)
    assert code == 0, out
    lines = out.splitlines()
    assert f"1. #{mail_id} email director@example.gov.cn" in lines[1]
    assert f"2. #{tg_id} telegram 4242" in lines[2]
    assert "inbox" in lines[3]

    code, out = run(env, "destination", "remove", "--id", tg_id)
    assert code == 0 and "removed" in out
    code, out = run(env, "destination", "list", "--person", "director")
    assert "telegram" not in out and "email director@example.gov.cn" in out


def test_add_group_shows_the_url_without_its_key(env: dict[str, str]) -> None:
    code, out = run(env, "destination", "add-group", "--kind", "dingtalk", "--name",
                    "leading-group", "--url", DINGTALK, "--secret", "SECabc")  # fmt: skip
    assert code == 0, out
    assert "leading-group" in out and "signed" in out and "8ca04016abcdef0123" not in out
    code, out = run(env, "destination", "list")
    assert code == 0 and "leading-group: dingtalk" in out and "…0123" in out
    assert "SECabc" not in out


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["add", "--person", "director", "--kind", "email", "--address", "nope"], "(address)"),
        (["add", "--person", "nobody", "--kind", "email", "--address", "a@b.cn"], "(person)"),
        (["add-group", "--kind", "wecom", "--name", "a b", "--url", WECOM], "(name)"),
        (["add-group", "--kind", "feishu", "--name", "ops", "--url", "feishu"], "(url)"),
        (["order", "--person", "director", "99999"], "(destination_ids)"),
        (["remove", "--id", "99999"], "(id)"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    env: dict[str, str], args: list[str], field: str
) -> None:
    code, out = run(env, "destination", *args)
    assert code == 1 and field in out, out


def test_an_unknown_kind_is_refused_by_the_command_line(env: dict[str, str]) -> None:
    code, out = run(env, "destination", "add-group", "--kind", "slack", "--name", "x",
                    "--url", WECOM)  # fmt: skip
    assert code == 2 and "wecom" in out
