"""The examples in the vector modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["sqlvec.index.base", "sqlvec.index.exact", "sqlvec.index.hnsw", "sqlvec.index.ivfflat",
           "sqlvec.index.sparse", "sqlvec.index.xp", "sqlvec.functions.vectors.types",
           "sqlvec.functions.vectors.textio", "sqlvec.functions.vectors.ops",
           "sqlvec.functions.vectors.arith", "sqlvec.functions.vectors.compare",
           "sqlvec.functions.vectors.casts", "sqlvec.wire.vector_codecs",
           "sqlvec.plan.vector_search"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
