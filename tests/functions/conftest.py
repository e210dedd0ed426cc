"""Shared fixtures: a fresh registry set and a helper that evaluates one call."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sqlvec.functions import default_registries


@pytest.fixture(scope="session")
def regs():
    return default_registries()


@pytest.fixture(scope="session")
def call(regs):
    """call(name, [(value_or_array, SqlType), ...]) -> python list (or scalar for 1 row)."""

    def run(name, typed_args, n=None):
        types = [t for _v, t in typed_args]
        vals = []
        for v, t in typed_args:
            if isinstance(v, pa.Array | pa.Scalar):
                vals.append(v)
            elif isinstance(v, list):
                vals.append(pa.array(v, type=t.arrow))
            else:
                vals.append(pa.scalar(v, type=t.arrow))
        rows = n or max((len(v) for v in vals if isinstance(v, pa.Array)), default=1)
        f = regs.functions.resolve(name, types)
        return f.call(vals, rows).to_pylist()

    return run


@pytest.fixture(scope="session")
def text1(regs):
    """text1(name, (value, SqlType), ...) -> the PostgreSQL text output of one call (or None)."""
    from sqlvec.core.textio import format_text

    def run(name, *typed_args):
        types = [t for _v, t in typed_args]
        vals = [pa.scalar(v, type=t.arrow if t.short != "unknown" else pa.string())
                for v, t in typed_args]
        f = regs.functions.resolve(name, types)
        return format_text(f.call(vals, 1), f.return_type)[0].as_py()

    return run


@pytest.fixture(scope="session")
def q(regs):
    """q(name, (value, SqlType), ...) -> text output of one call; string values of typed
    arguments go through the type's text input, as a quoted literal would."""
    from sqlvec.core.textio import format_text, parse_text

    def run(name, *targs):
        vals = []
        for v, t in targs:
            if t.short == "unknown":
                vals.append(pa.scalar(v, pa.string()))
            elif isinstance(v, str) and t.short != "text":
                vals.append(parse_text(pa.array([v]), t)[0])
            else:
                vals.append(pa.scalar(v, t.arrow))
        f = regs.functions.resolve(name, [t for _v, t in targs])
        return format_text(f.call(vals, 1), f.return_type)[0].as_py()

    return run
