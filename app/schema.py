"""Every table of every layer, in one metadata: for migrations and test databases.

Lives in ``app`` because only the top layer may import all the others.
"""

from __future__ import annotations

import importlib

from incidents import (  # noqa: F401  (imported for their tables)
    audit,
    calendar_feeds,
    models,
    org,
    rosters,
    sessions,
)
from incidents.db import Base

# Model modules of the higher layers; each appears when its issue lands.
LAYER_MODEL_MODULES = (
    "escalation.models",
    "escalation.tallies",
    "escalation.telegram.models",
    "escalation.intake",
    "escalation.handoffs",
    "accountability.models",
)

for _name in LAYER_MODEL_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # pragma: no cover - a layer not built yet
        if exc.name is None or not _name.startswith(exc.name):
            raise

metadata = Base.metadata
