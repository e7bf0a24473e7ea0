"""What one ``POST /api/v1/incidents`` costs in SQL statements, on both engines.

Logging an incident is the hot path of intake (a monitoring burst is hundreds of them):
the token check, one permission computation, the numbering, the incident, the clocks
(obligations, alerts, the chain and its timers, inserted in sets), the first page's
notifications and the audit events appended under one head lock. Every statement the
app's engine runs for the request is counted and printed, so a regression names itself.
"""

from __future__ import annotations

from collections import Counter

from tests.api.conftest import Api, incident_body, services_of
from tests.statements import statements

# The statements a create may run, by engine (SQLite counts its BEGIN IMMEDIATE).
# Before issue 11: 61 on SQLite, 52 on PostgreSQL. Goal: at most 15.
# Set-based firing (issue 11): the first page's firing 8 statements instead of ~16.
# One transaction, the token and permissions in one statement, the number, the incident
# and its first grade_change in one on PostgreSQL, no obligation read back, whether the
# duty roles have rosters read with the holders of the positions: 18 on SQLite (its
# BEGIN IMMEDIATE among them), 15 on PostgreSQL (12 / 9 of them the record, the clocks
# and the audit chain; 6 the first page's firing).
BUDGET = {"sqlite": 18, "postgresql": 15}


def kind(statement: str) -> str:
    """``INSERT obligation``, ``SELECT person``…: the verb and the first table named."""
    words = statement.replace('"', "").split()
    verb = words[0].upper()
    table = ""
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in (w.upper() for w in words):
            index = [w.upper() for w in words].index(marker)
            if index + 1 < len(words):
                table = words[index + 1].strip("(,")
                break
    return f"{verb} {table}".strip()


def test_a_create_costs_a_handful_of_statements(any_api: Api) -> None:
    engine = services_of(any_api.app).engine
    any_api.create()  # warm: the first request of a process loads what every one shares
    with statements(engine) as seen:
        reply = any_api.post("/incidents", json=incident_body(title="第二起"))
    assert reply.status_code == 201, reply.get_json()
    print(f"\n{len(seen)} statements on {engine.dialect.name}:")
    for text in seen:
        print("  ", text[:200])
    print(sorted(Counter(kind(s) for s in seen).items()))
    budget = BUDGET[engine.dialect.name]
    assert len(seen) <= budget, f"{len(seen)} statements, budget {budget}"
