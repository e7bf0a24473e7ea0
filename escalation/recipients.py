"""Who a step, a warning or a breach reaches: targets resolved when they fire.

A target is a position role (whoever holds it at that moment), one of the two relative
roles resolved through the incident's responsible department —
``responsible_department_head`` (谁主管谁负责) and ``deputy_director_in_charge`` (分管,
3(2)) — ``person:LOGIN``, or ``on_duty:ROLE`` — whoever the duty roster (值班表) has on duty for
that role at that moment. Resolving at firing time, not at open, means a hand-over of duty
between the two is honoured: the person paged is the one holding the post, or on the shift.
A roster with nobody on duty falls back to the holders of its fallback position
(``incidents.rosters.FALLBACK_POSITION``) and the recipient says so (``fallback``).

The fallback ladder (who is "next up" when a person cannot be reached) is the Article 3
chain for the incident: the command center head (3(3), who handles incidents), the
responsible department's head, the deputy director in charge of it (3(2)), the deputy
director for network security (3(2), direct responsibility), the director (3(1)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from config.policy import ON_DUTY_PREFIX, PERSON_PREFIX
from incidents.models import Incident
from incidents.org import Person, Position
from incidents.responsibility import deputies_in_charge, holders, responsible_for
from incidents.rosters import FALLBACK_POSITION, Roster, on_duty


@dataclass(frozen=True)
class Recipient:
    target: str
    person_id: int
    login: str
    name: str
    language: str
    # The position paged instead when ``target`` is a roster with nobody on duty.
    fallback: str | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "target": self.target,
            "person_id": self.person_id,
            "login": self.login,
        }
        if self.fallback is not None:
            out["fallback"] = self.fallback
        return out


class Resolver:
    """Resolves targets at one moment; remembers answers for the length of a transaction."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.session = session
        self.at = at
        self._roles: dict[str, list[Person]] = {}
        self._relative: dict[tuple[str, int], list[Person]] = {}
        self._logins: dict[str, Person | None] = {}
        self._ladders: dict[int | None, list[Person]] = {}
        self._on_duty: dict[str, tuple[list[Person], str | None]] = {}
        # Duty roles known to have no roster (read by :meth:`expect`).
        self._no_roster: set[str] = set()
        # (role, department) -> holders, for the department heads read by ``expect``.
        self._heads: dict[int, list[Person]] | None = None

    def expect(self, targets: Iterable[str]) -> None:
        """Read at once what ``targets`` will ask for: the holders of every position
        named (and of the duty rosters' fallback positions, and every department's
        head), which duty roles have a roster at all, and the people named by login —
        three statements for a sweep's whole batch, where asking target by target
        costs one or two each. Resolution itself is unchanged: the same answers, read
        earlier in the same transaction."""
        roles: set[str] = set()
        duty: set[str] = set()
        logins: set[str] = set()
        heads = False
        for target in targets:
            if target.startswith(PERSON_PREFIX):
                login = target.removeprefix(PERSON_PREFIX)
                if login not in self._logins:
                    logins.add(login)
            elif target.startswith(ON_DUTY_PREFIX):
                role = target.removeprefix(ON_DUTY_PREFIX)
                if role not in self._on_duty and role in FALLBACK_POSITION:
                    duty.add(role)
                    roles.add(FALLBACK_POSITION[role])
            elif target == "responsible_department_head":
                heads = self._heads is None
            elif target != "deputy_director_in_charge":
                roles.add(target)
        roles -= set(self._roles)
        if heads:
            roles.add("department_head")
        # Which duty roles have a roster rides along the holders' statement, one
        # uncorrelated EXISTS per role (evaluated once), when there is one to ride on.
        if duty and not roles:
            rostered = set(self.session.scalars(select(Roster.role).where(Roster.role.in_(duty))))
            self._no_roster |= duty - rostered
        duty_roles = sorted(duty) if roles else []
        if roles:
            found: dict[str, list[Person]] = {role: [] for role in roles}
            by_department: dict[int, list[Person]] = {}
            flags = [
                exists().where(Roster.role == role).label(f"rostered_{i}")
                for i, role in enumerate(duty_roles)
            ]
            rows = self.session.execute(
                select(Position.role, Position.department_id, Person, *flags)
                .join(Person, Person.id == Position.person_id)
                .where(
                    Position.role.in_(roles),
                    Position.valid_from <= self.at,
                    or_(Position.valid_until.is_(None), Position.valid_until > self.at),
                    Person.active.is_(True),
                )
                .order_by(Position.valid_from, Person.id)
            ).all()
            if rows and duty_roles:  # with no row, on_duty reads the roster itself
                rostered = {role for i, role in enumerate(duty_roles) if rows[0][3 + i]}
                self._no_roster |= duty - rostered
            for role, department_id, person, *_ in rows:
                found[role].append(person)
                if role == "department_head" and department_id is not None:
                    by_department.setdefault(department_id, []).append(person)
            for role, people in found.items():
                self._roles[role] = _unique(people)
            if heads:
                self._heads = {d: _unique(p) for d, p in by_department.items()}
        if logins:
            for login in logins:
                self._logins[login] = None
            for person in self.session.scalars(
                select(Person).where(Person.login.in_(logins), Person.active.is_(True))
            ):
                self._logins[person.login] = person

    def on_duty(self, role: str) -> tuple[list[Person], str | None]:
        """Who the ``role`` roster has on duty now, or — with nobody on the roster — the
        holders of its fallback position, with that position's name."""
        if role not in self._on_duty:
            person = None if role in self._no_roster else on_duty(self.session, role, self.at)
            if person is not None:
                self._on_duty[role] = ([person], None)
            else:
                position = FALLBACK_POSITION[role]
                self._on_duty[role] = (self._holders(position), position)
        return self._on_duty[role]

    def persons(self, target: str, incident: Incident) -> list[Person]:
        """The active people ``target`` means for ``incident`` now (may be none)."""
        if target.startswith(PERSON_PREFIX):
            login = target.removeprefix(PERSON_PREFIX)
            if login not in self._logins:
                self._logins[login] = self.session.scalars(
                    select(Person).where(Person.login == login, Person.active.is_(True))
                ).first()
            person = self._logins[login]
            return [person] if person is not None else []
        if target.startswith(ON_DUTY_PREFIX):
            return self.on_duty(target.removeprefix(ON_DUTY_PREFIX))[0]
        if target in ("responsible_department_head", "deputy_director_in_charge"):
            department_id = incident.responsible_department_id
            if department_id is None:
                return []
            key = (target, department_id)
            if key not in self._relative:
                if target == "responsible_department_head" and self._heads is not None:
                    self._relative[key] = self._heads.get(department_id, [])
                    return self._relative[key]
                if target == "responsible_department_head":
                    found = holders(
                        self.session, "department_head", self.at, department_id=department_id
                    )
                else:
                    found = deputies_in_charge(self.session, department_id, self.at)
                self._relative[key] = _unique(person for _, person in found)
            return self._relative[key]
        return self._holders(target)

    def _holders(self, role: str) -> list[Person]:
        if role not in self._roles:
            found = holders(self.session, role, self.at)
            self._roles[role] = _unique(person for _, person in found)
        return self._roles[role]

    def resolve(
        self, targets: list[str] | tuple[str, ...], incident: Incident
    ) -> tuple[list[Recipient], list[str]]:
        """Recipients for ``targets`` (each person once, under the first target naming
        them) and the targets that resolved to nobody."""
        recipients: list[Recipient] = []
        unresolved: list[str] = []
        seen: set[int] = set()
        for target in targets:
            people = self.persons(target, incident)
            if not people:
                unresolved.append(target)
            fallback = None
            if target.startswith(ON_DUTY_PREFIX):
                fallback = self.on_duty(target.removeprefix(ON_DUTY_PREFIX))[1]
            for person in people:
                if person.id in seen:
                    continue
                seen.add(person.id)
                recipients.append(
                    Recipient(
                        target, person.id, person.login, person.name, person.language, fallback
                    )
                )
        return recipients, unresolved

    def ladder(self, incident: Incident) -> list[Person]:
        """The Article 3 chain for ``incident``, lowest first (see the module doc)."""
        department_id = incident.responsible_department_id
        if department_id in self._ladders:
            return self._ladders[department_id]
        people: list[Person] = [p for _, p in holders(self.session, "command_center_head", self.at)]
        if department_id is not None:
            for entry in responsible_for(self.session, at=self.at, department_id=department_id):
                person = self.session.get(Person, entry.person_id)
                if person is not None:
                    people.append(person)
        else:
            for role in ("deputy_director_netsec", "director"):
                people.extend(p for _, p in holders(self.session, role, self.at))
        ladder = _unique(people)
        self._ladders[department_id] = ladder
        return ladder

    def next_up(self, incident: Incident, person_id: int) -> Person | None:
        """The next person above ``person_id`` in the ladder; the lowest rung for someone
        outside it; ``None`` above the top."""
        ladder = self.ladder(incident)
        ids = [p.id for p in ladder]
        if person_id not in ids:
            return ladder[0] if ladder else None
        above = ladder[ids.index(person_id) + 1 :]
        return above[0] if above else None


def _unique(people: Iterable[Person]) -> list[Person]:
    out: list[Person] = []
    seen: set[int] = set()
    for person in people:
        if person.id not in seen:
            seen.add(person.id)
            out.append(person)
    return out
