"""The corpus gate: every record PostgreSQL 15 passes must pass on sqlvec over the wire,
except the records in sqllogic/known_failures.json (regenerate with
`python -m sqllogic corpus --update-known-failures`). A new failure is a regression.

The wire gate runs the whole corpus, every query, split between one server per core (4m42s
with one server on a 2-core box after the small-query speed-ups of 2026-11-25, ~9 min on a
slower one; it used to be 11-15 min). The embedded gate runs the
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


def _shards(files: list, n: int) -> list[list]:
    """The files in n groups of about equal size (bytes), each in corpus order."""
    groups: list[list] = [[] for _ in range(n)]
    sizes = [0] * n
    for f in sorted(files, key=lambda f: -f[0].stat().st_size):
        i = sizes.index(min(sizes))
        groups[i].append(f)
        sizes[i] += f[0].stat().st_size
    order = {name: j for j, (_p, name) in enumerate(files)}
    return [sorted(g, key=lambda f: order[f[1]]) for g in groups if g]


def test_corpus_gate_wire():
    """The files split between one server per core (the server's CPU is the gate's time:
    two halves on a 2-core box take about half as long)."""
    from concurrent.futures import ThreadPoolExecutor

    files, exclude = corpus.corpus_gate_files()
    sample = _sample(1)
    known = corpus.load_known("corpus")

    def gate(part: list) -> corpus.GateResult:
        with sqlvec_server() as dsn:
            return corpus.run_gate(wire_factory(dsn, "schema", timeout=30), part, exclude=exclude,
                                   known=known, log=lambda _l: None, sample=sample)
    shards = _shards(files, max(1, min(os.cpu_count() or 1, 4)))
    with ThreadPoolExecutor(len(shards)) as pool:
        result = corpus.GateResult.merged(list(pool.map(gate, shards)))
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
