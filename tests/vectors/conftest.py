"""Fixtures: a registry set with the vector types, and an embedded database."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sqlvec.core import types as T
from sqlvec.functions import default_registries


@pytest.fixture(scope="session")
def regs():
    return default_registries()


@pytest.fixture(scope="session")
def q(regs):
    """q(sql_text_value, type_name) -> value parsed through the type's input function."""
    def parse(text: str, tname: str, typmod: int = -1):
        t = regs.types.by_name(tname)
        if typmod > 0:
            t = t.with_typmod(typmod)
        return regs.casts.cast(pa.array([text]), T.TEXT, t, explicit=True), t
    return parse
