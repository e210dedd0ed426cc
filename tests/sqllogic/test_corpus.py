"""The corpus gate: every record PostgreSQL 15 passes must pass on sqlvec over the wire,
except the records in sqllogic/known_failures.json (regenerate with
`python -m sqllogic corpus --update-known-failures`). A new failure is a regression.

The wire gate runs the whole corpus, every query (4m42s on the busy shared 2-core box since
the small-query speed-ups of 2026-11-25; it used to be 11-15 min). The embedded gate runs the
same engine in-process, so it samples every 10th query (all statements still run; ~22 s).
SQLVEC_CORPUS_SAMPLE=N overrides both (N=1: everything, N=10: a quick pass)."""

from __future__ import annotations

import os

import pytest

from sqllogic import corpus
from sqllogic.backends import embedded_factory, wire_factory
from sqllogic.servers import sqlvec_server
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = [
    pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING),
    pytest.mark.skipif(not corpus.corpus_dir().exists(), reason="corpus not present"),
]


def _report(section: str, result: corpus.GateResult) -> str:
    pg, ok, known = result.totals()
    lines = [f"{section}: records run that PostgreSQL passes {pg}, sqlvec passes {ok}, "
             f"known failures {known}"]
    for rep in result.reports:
        lines.append(f"  {rep.path}: {rep.passed}/{rep.passed + rep.failed}  ({rep.seconds:.1f}s)")
    if result.fixed:
        lines.append("  now passing (update known failures): "
                     + ", ".join(f"{k}: {len(v)}" for k, v in result.fixed.items()))
    return "\n".join(lines)


def _regressions(result: corpus.GateResult) -> str:
    out = []
    for rep in result.reports:
        bad = set(result.regressions.get(rep.path, ()))
        for f in rep.failures:
            if f.line in bad:
                out.append(f"{rep.path}:{f.line}: {f.sql[:120]!r}\n    {f.reason[:300]}")
    return "\n".join(out[:30])


def _sample(default: int) -> int:
    return int(os.environ.get("SQLVEC_CORPUS_SAMPLE", default))


def test_corpus_gate_wire():
    files, exclude = corpus.corpus_gate_files()
    sample = _sample(1)
    with sqlvec_server() as dsn:
        result = corpus.run_gate(wire_factory(dsn, "schema", timeout=30), files, exclude=exclude,
                                 known=corpus.load_known("corpus"), log=lambda _l: None,
                                 sample=sample)
    print(f"\n!! corpus sample: every {sample}th query (SQLVEC_CORPUS_SAMPLE=1 for all)"
          if sample > 1 else "")
    print(_report("corpus (wire)", result))
    assert not result.regressions, "regressions:\n" + _regressions(result)


def test_corpus_gate_embedded():
    files, exclude = corpus.corpus_gate_files()
    sample = _sample(10)
    if sample > 1:  # index/delete is ~7,000 statements that sampling cannot skip; the wire gate runs it
        files = [f for f in files if not f[1].startswith("index/delete/")]
    result = corpus.run_gate(embedded_factory(), files, exclude=exclude,
                             known=corpus.load_known("corpus-embedded"), log=lambda _l: None,
                             sample=sample)
    print(f"\n!! corpus sample: every {sample}th query (SQLVEC_CORPUS_SAMPLE=1 for all)"
          if sample > 1 else "")
    print(_report("corpus (embedded)", result))
    assert not result.regressions, "regressions:\n" + _regressions(result)
