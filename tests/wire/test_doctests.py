"""The examples in the wire modules' docstrings are checked, so they stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["sqlvec.wire.messages", "sqlvec.wire.backend", "sqlvec.wire.segments",
           "sqlvec.wire.codecs", "sqlvec.wire.rows", "sqlvec.wire.fixed_rows",
           "sqlvec.wire.startup", "sqlvec.core.passwords"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
