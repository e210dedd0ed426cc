"""Run one sqllogictest file against a backend and report what passed and what failed.

The semantics are those of SQLite's reference runner (see /work/shared/sqllogic-corpus):
skipif/onlyif with our engine name, halt, hash-threshold, sort modes, labels, md5
hashing. Records listed in `exclude_lines` still run (later records may need their
effects) but are left out of the pass/fail count.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqllogic.backends import Backend, BackendFactory, Outcome
from sqllogic.parser import ENGINE, Record, parse_text
from sqllogic.values import HASH_RE, format_cell, hash_values, letter_for_oid, sort_values


@dataclass
class Failure:
    """One record that did not pass: where, its SQL, and why."""

    line: int
    sql: str
    reason: str


@dataclass
class FileReport:
    """Per-file totals in the shape of pg15_baseline.json."""

    path: str
    records: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    excluded: int = 0
    not_run: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    passed_lines: list[int] = field(default_factory=list)
    note: str = ""

    @property
    def failed_lines(self) -> list[int]:
        return [f.line for f in self.failures]

    def as_dict(self) -> dict:
        """The JSON form (the baseline's per-file entry)."""
        return {
            "path": self.path,
            "records": self.records,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "excluded": self.excluded,
            "not_run": self.not_run,
            "seconds": round(self.seconds, 2),
            "note": self.note,
            "failed_lines": self.failed_lines,
        }


@dataclass
class Verdict:
    """What running one record gave: pass/fail, why, and what --complete would write."""

    ok: bool
    reason: str = ""
    outcome: Outcome | None = None
    values: list[str] | None = None  # printed + sorted values of a query


class FileRun:
    """State while running one file: threshold, labels, halt."""

    def __init__(self, backend: Backend, engine: str = ENGINE) -> None:
        self.backend = backend
        self.engine = engine
        self.threshold = 0
        self.labels: dict[str, str] = {}

    def run_statement(self, rec: Record) -> Verdict:
        out = self.backend.execute(rec.sql)
        if rec.error is None:
            if out.failed:
                return Verdict(False, f"statement failed: [{out.sqlstate}] {out.message}", out)
            return Verdict(True, outcome=out)
        if not out.failed:
            return Verdict(False, "statement succeeded but an error was expected", out)
        if not rec.error.matches(out.sqlstate, out.message or ""):
            want = rec.error.header()
            return Verdict(
                False, f"wrong error: [{out.sqlstate}] {out.message} (expected {want})", out
            )
        return Verdict(True, outcome=out)

    def run_query(self, rec: Record) -> Verdict:
        out = self.backend.execute(rec.sql)
        if rec.error is not None:
            if not out.failed:
                return Verdict(False, "query succeeded but an error was expected", out)
            if not rec.error.matches(out.sqlstate, out.message or ""):
                want = rec.error.header()
                return Verdict(
                    False, f"wrong error: [{out.sqlstate}] {out.message} (expected {want})", out
                )
            return Verdict(True, outcome=out)
        if out.failed:
            return Verdict(False, f"query failed: [{out.sqlstate}] {out.message}", out)
        oids = out.oids or []
        if len(oids) != len(rec.types):
            return Verdict(False, f"expected {len(rec.types)} columns, got {len(oids)}", out, None)
        values = [
            format_cell(cell, oids[i], rec.types[i])
            for row in out.rows
            for i, cell in enumerate(row)
        ]
        values = sort_values(values, len(oids), rec.sort)
        verdict = Verdict(True, outcome=out, values=values)
        hashed = hash_values(values)
        if rec.label is not None:
            seen = self.labels.setdefault(rec.label, hashed)
            if seen != hashed:
                verdict.ok, verdict.reason = (
                    False,
                    f"result differs from earlier {rec.label}: {hashed}",
                )
                return verdict
        expected = rec.expected or []
        if len(expected) == 1 and HASH_RE.match(expected[0]):
            if hashed != expected[0]:
                verdict.ok, verdict.reason = False, f"expected {expected[0]}, got {hashed}"
                if len(values) <= 20:
                    verdict.reason += " " + repr(values)
            return verdict
        if [v.rstrip() for v in values] != expected:
            verdict.ok = False
            verdict.reason = f"expected {_short(expected)}, got {_short(values)}"
        return verdict

    def expected_block(self, rec: Record, verdict: Verdict) -> list[str]:
        """The record's header + SQL + results as --complete writes them from `verdict`."""
        out = verdict.outcome
        cond = [f"{c.kind} {c.engine}" for c in rec.conditions]
        if rec.kind == "statement":
            if out is not None and out.failed:
                head = (
                    rec.header
                    if rec.error is not None and verdict.ok
                    else f"statement error pgcode {out.sqlstate}"
                )
            else:
                head = "statement ok"
            return cond + [head] + rec.sql.split("\n")
        if out is not None and out.failed:
            head = (
                rec.header
                if rec.error is not None and verdict.ok
                else f"query error pgcode {out.sqlstate}"
            )
            return cond + [head] + rec.sql.split("\n")
        if out is not None and out.oids is None:  # the statement returns no rows at all
            return cond + ["statement ok"] + rec.sql.split("\n")
        types = rec.types
        oids = (out.oids if out else None) or []
        if len(types) != len(oids) or rec.error is not None:
            types = "".join(letter_for_oid(o) for o in oids) or "T"
            values = (
                [
                    format_cell(cell, oids[i], types[i])
                    for row in out.rows
                    for i, cell in enumerate(row)
                ]
                if out
                else []
            )
            values = sort_values(values, len(oids), rec.sort)
        else:
            values = verdict.values or []
        head = " ".join(["query", types, rec.sort] + ([rec.label] if rec.label else []))
        body = [hash_values(values)] if self.threshold and len(values) > self.threshold else values
        return cond + [head] + rec.sql.split("\n") + ["----"] + body


def _short(values: list[str], limit: int = 12) -> str:
    """A readable prefix of a value list for failure messages."""
    if len(values) <= limit:
        return repr(values)
    return repr(values[:limit])[:-1] + f", ... ({len(values)} values)]"


def run_records(
    records: list[Record],
    backend: Backend,
    report: FileReport,
    *,
    engine: str = ENGINE,
    exclude_lines: Iterable[int] = (),
    complete: dict[int, list[str]] | None = None,
    sample: int = 1,
) -> FileReport:
    """Run parsed records on an open backend, filling `report` (and `complete` blocks).

    With `sample` N > 1 every statement runs but only every Nth query does (the others
    count as not run): a deterministic subset for quick gates.
    """
    excluded = set(exclude_lines)
    run = FileRun(backend, engine)
    halted = False
    nquery = 0
    for rec in records:
        if rec.kind in ("halt", "hash-threshold"):
            if halted or rec.skipped_for(engine):
                continue
            if rec.kind == "halt":
                halted = True
            else:
                run.threshold = rec.threshold
            continue
        report.records += 1
        if halted:
            report.not_run += 1
            continue
        if rec.skipped_for(engine):
            report.skipped += 1
            continue
        if rec.kind == "query":
            nquery += 1
            if sample > 1 and nquery % sample:
                report.not_run += 1
                continue
        try:
            verdict = run.run_statement(rec) if rec.kind == "statement" else run.run_query(rec)
        except ConnectionError as exc:
            verdict = Verdict(False, str(exc))
            halted = True
            report.note = f"connection lost at line {rec.line}; the rest was not run"
        if complete is not None:
            complete[rec.line] = run.expected_block(rec, verdict)
        if rec.line in excluded:
            report.excluded += 1
        elif verdict.ok:
            report.passed += 1
            report.passed_lines.append(rec.line)
        else:
            report.failed += 1
            report.failures.append(Failure(rec.line, rec.sql, verdict.reason))
    return report


def run_file(
    path: str | Path,
    factory: BackendFactory,
    *,
    engine: str = ENGINE,
    display_path: str | None = None,
    exclude_lines: Iterable[int] = (),
    complete: bool = False,
    sample: int = 1,
) -> FileReport:
    """Run one file on a fresh backend from `factory`; with `complete`, rewrite its results."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    records = parse_text(text)
    report = FileReport(display_path or str(path))
    blocks: dict[int, list[str]] | None = {} if complete else None
    start = time.perf_counter()
    with factory() as backend:
        run_records(
            records, backend, report, engine=engine, exclude_lines=exclude_lines,
            complete=blocks, sample=sample,
        )
    report.seconds = time.perf_counter() - start
    if blocks:
        path.write_text(rewrite(text, records, blocks), encoding="utf-8")
    return report


def rewrite(text: str, records: list[Record], blocks: dict[int, list[str]]) -> str:
    """The file text with each completed record's lines replaced by its new block."""
    lines = text.split("\n")
    by_line = {r.line: r for r in records}
    out: list[str] = []
    i = 0
    while i < len(lines):
        rec = by_line.get(i + 1)
        if rec is not None and rec.line in blocks:
            out.extend(blocks[rec.line])
            i = rec.end
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)
