"""sparsevec_in over whole columns (textio.parse_sparse): plainly written texts converted
at once give what the value-by-value input function gives (zeros dropped, input sorted),
and any text it refuses keeps its error and words."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from sqlvec.core.errors import SqlError
from sqlvec.functions.vectors import textio
from sqlvec.functions.vectors import types as V


def _value(rng: random.Random) -> str:
    return rng.choice(["0.5", "-2", "3e2", "1.25E-1", "0", "-0.0", ".5", "7.", "1e-50", "123456.789"])


def _texts(rng: random.Random, n: int, dim: int | None) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.1:
            out.append(None)
            continue
        d = dim or rng.randrange(1, 30)
        idx = rng.sample(range(1, d + 1), rng.randrange(0, min(d, 8) + 1))
        out.append("{" + ",".join(f"{i}:{_value(rng)}" for i in idx) + f"}}/{d}")
    return out


@pytest.mark.parametrize("dim", [None, 12])
def test_column_equals_value_by_value(monkeypatch, dim):
    texts = _texts(random.Random(dim or 3), 600, dim)
    t = V.SPARSEVEC if dim is None else V.SPARSEVEC.with_typmod(dim)
    want = [None if s is None else textio.parse_sparse_value(s, t.typmod) for s in texts]
    calls = []
    monkeypatch.setattr(textio, "parse_sparse_value", lambda *a: calls.append(a))
    assert textio.parse_sparse(pa.array(texts), t).to_pylist() == want
    assert textio.parse_sparse(pa.array(texts).slice(7, 100), t).to_pylist() == want[7:107]
    assert calls == []  # every text went the column way


@pytest.mark.parametrize("texts, sqlstate, message", [
    (["{1:1}/2", "{1:1,1:2}/2"], "22000", "sparsevec indices must not contain duplicates"),
    (["{1:1}/2", "{3:1}/2"], "22000", "sparsevec index out of bounds"),
    (["{1:1}/2", "{0:1}/2"], "22000", "sparsevec index out of bounds"),
    (["{1:1}/0"], "22000", "sparsevec must have at least 1 dimension"),
    (["{1:1e39}/2"], "22000", "infinite value not allowed in sparsevec"),
    (["{1:nan}/2"], "22000", "NaN not allowed in sparsevec"),
    (["{1:1}/2", "{1:1}/3"], "22000", "expected 2 dimensions, not 3"),
])
def test_refused_texts_keep_their_errors(texts, sqlstate, message):
    t = V.SPARSEVEC.with_typmod(2) if "expected" in message else V.SPARSEVEC
    with pytest.raises(SqlError) as e:
        textio.parse_sparse(pa.array(texts), t)
    assert (e.value.sqlstate, e.value.message) == (sqlstate, message)


def test_blanks_and_other_forms_still_read():
    got = textio.parse_sparse(pa.array([" { 1 : 2 , 3:-1 } / 4 ", "{1:0,1:+2}/2", None]), V.SPARSEVEC)
    assert got.to_pylist() == [{"dim": 4, "indices": [0, 2], "values": [2.0, -1.0]},
                               {"dim": 2, "indices": [0], "values": [2.0]}, None]
