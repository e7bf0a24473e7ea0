"""What every ``fenghuo`` command shows for a database it cannot use: one line naming
``FENGHUO_DATABASE_URL`` and the cause, exit status 1, instead of a traceback."""

from __future__ import annotations

from typing import Any

import click

from incidents.db import DatabaseUnavailable


class FenghuoGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DatabaseUnavailable as exc:
            raise click.ClickException(str(exc)) from None
