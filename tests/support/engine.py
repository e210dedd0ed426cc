"""Whether the sqlvec engine is there yet (tests of the whole stack skip visibly until then)."""

from __future__ import annotations

import importlib


def engine_available() -> bool:
    """True once sqlvec.session exports the Database and Session of docs/CONTRACTS.md."""
    try:
        mod = importlib.import_module("sqlvec.session")
    except Exception:  # noqa: BLE001 - a half-written engine counts as not there
        return False
    return hasattr(mod, "Database") and hasattr(mod, "Session")


ENGINE_MISSING = "the sqlvec engine (sqlvec.session Database/Session) has not landed yet"
