"""A served web worker compiles every template before its first request (app.warm_start,
called by gunicorn's post_worker_init in app.gunicorn_conf)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask

from app import gunicorn_conf
from app.warm_start import warm

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process goes on collecting as before


def test_the_worker_compiles_every_template_before_its_first_request(
    app: Flask, unfrozen: None
) -> None:
    names = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))
    assert names, "no templates found"
    gunicorn_conf.post_worker_init(SimpleNamespace(wsgi=app))
    cache = app.jinja_env.cache
    assert cache is not None
    compiled = {key[1] for key in cache}
    assert compiled >= set(names)
    assert gc.get_freeze_count() > 0


def test_an_app_that_is_not_flask_is_left_alone(unfrozen: None) -> None:
    assert warm(object()) == 0
