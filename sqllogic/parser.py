"""Parse sqllogictest files into records, following SQLite's reference runner.

Records are separated by blank lines; lines starting with ``#`` are dropped first (they do
not separate records). Example::

    >>> recs = parse_text("statement ok\\nCREATE TABLE t(a INT)\\n\\nquery I nosort\\nSELECT 1\\n----\\n1\\n")
    >>> [r.kind for r in recs], recs[1].expected
    (['statement', 'query'], ['1'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ENGINE = "postgresql"
SORT_MODES = ("nosort", "rowsort", "valuesort")


class SltSyntaxError(ValueError):
    """A record the parser cannot understand (the file is broken, not the engine)."""


@dataclass(frozen=True)
class Condition:
    """One ``skipif <db>`` / ``onlyif <db>`` line in front of a record."""

    kind: str  # "skipif" | "onlyif"
    engine: str

    def skips(self, engine: str) -> bool:
        """True when this condition excludes the record for `engine`."""
        if self.kind == "skipif":
            return self.engine == engine
        return self.engine != engine


@dataclass(frozen=True)
class ExpectedError:
    """What a failing statement must fail with: an optional SQLSTATE and message regex."""

    pgcode: str | None = None
    pattern: str | None = None

    def matches(self, sqlstate: str | None, message: str) -> bool:
        """True when the actual error satisfies this expectation."""
        if self.pgcode is not None and sqlstate != self.pgcode:
            return False
        if self.pattern and not re.search(self.pattern, message):
            return False
        return True

    def header(self) -> str:
        """The text after ``statement error`` that re-creates this expectation."""
        parts = []
        if self.pgcode:
            parts += ["pgcode", self.pgcode]
        if self.pattern:
            parts.append(self.pattern)
        return " ".join(parts)


@dataclass
class Record:
    """One record: a statement, a query, or a control line (halt, hash-threshold)."""

    kind: str  # "statement" | "query" | "halt" | "hash-threshold"
    line: int  # 1-based line of the record's first line (its skipif/onlyif if any)
    sql_line: int = 0  # 1-based line of the SQL's first line
    conditions: list[Condition] = field(default_factory=list)
    sql: str = ""
    error: ExpectedError | None = None  # statement error / query error
    types: str = ""  # query: one letter per column
    sort: str = "nosort"
    label: str | None = None
    expected: list[str] | None = None  # query: result lines after ----; None = no ---- line
    threshold: int = 0  # hash-threshold value
    header: str = ""  # the original header line (statement ... / query ...)
    end: int = 0  # 0-based index of the line after the record (for --complete rewrites)

    def skipped_for(self, engine: str) -> bool:
        """True when a skipif/onlyif line excludes this record for `engine`."""
        return any(c.skips(engine) for c in self.conditions)


def _parse_error_spec(tokens: list[str], raw_rest: str) -> ExpectedError:
    """``[pgcode XXXXX] [regex]`` after the word ``error``."""
    if tokens and tokens[0] == "pgcode":
        if len(tokens) < 2:
            raise SltSyntaxError("pgcode needs a 5-character SQLSTATE")
        code = tokens[1]
        rest = raw_rest.split(None, 2)
        pattern = rest[2].strip() if len(rest) > 2 else None
        return ExpectedError(code, pattern or None)
    pattern = raw_rest.strip()
    return ExpectedError(None, pattern or None)


def _parse_header(rec: Record, header: str, lineno: int) -> None:
    """Fill `rec` from its ``statement ...`` / ``query ...`` line."""
    words = header.split()
    rec.kind = words[0]
    rec.header = header
    if rec.kind == "statement":
        if len(words) < 2 or words[1] not in ("ok", "error"):
            raise SltSyntaxError(f"line {lineno}: expected 'statement ok|error'")
        if words[1] == "error":
            raw = header.split(None, 2)
            rec.error = _parse_error_spec(words[2:], raw[2] if len(raw) > 2 else "")
        return
    # query <types> [sort] [label]  |  query error [pgcode X] [regex]
    if len(words) >= 2 and words[1] == "error":
        raw = header.split(None, 2)
        rec.error = _parse_error_spec(words[2:], raw[2] if len(raw) > 2 else "")
        return
    if len(words) < 2:
        raise SltSyntaxError(f"line {lineno}: query needs type letters")
    rec.types = words[1]
    rest = words[2:]
    if rest and rest[0] in SORT_MODES:
        rec.sort = rest.pop(0)
    if rest and rest[0] == "error":
        raw = header.split("error", 1)[1]
        rec.error = _parse_error_spec(rest[1:], raw)
        return
    if rest:
        rec.label = rest[0]


def parse_text(text: str) -> list[Record]:
    """Parse the text of one .test/.slt file into records (control records included)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records: list[Record] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i].rstrip("\r")
        if line.startswith("#"):
            i += 1
            continue
        if not line.strip():
            i += 1
            continue
        start = i + 1
        conditions: list[Condition] = []
        while True:
            words = line.split()
            if words and words[0] in ("skipif", "onlyif"):
                if len(words) < 2:
                    raise SltSyntaxError(f"line {i + 1}: {words[0]} needs an engine name")
                conditions.append(Condition(words[0], words[1]))
            else:
                break
            i += 1
            while i < n and lines[i].startswith("#"):
                i += 1
            if i >= n:
                raise SltSyntaxError(f"line {start}: condition at end of file")
            line = lines[i].rstrip("\r")
        words = line.split()
        head = words[0] if words else ""
        rec = Record(kind=head, line=start, conditions=conditions)
        if head == "halt":
            records.append(rec)
            i += 1
            continue
        if head == "hash-threshold":
            rec.threshold = int(words[1])
            records.append(rec)
            i += 1
            continue
        if head not in ("statement", "query"):
            raise SltSyntaxError(f"line {i + 1}: unknown record type {head!r}")
        _parse_header(rec, line.strip(), i + 1)
        i += 1
        rec.sql_line = i + 1
        sql_lines: list[str] = []
        while i < n:
            cur = lines[i].rstrip("\r")
            if cur.startswith("#"):
                i += 1
                continue
            if not cur.strip() or (rec.kind == "query" and cur == "----"):
                break
            sql_lines.append(cur)
            i += 1
        rec.sql = "\n".join(sql_lines)
        if i < n and lines[i].rstrip("\r") == "----":
            i += 1
            expected: list[str] = []
            while i < n:
                cur = lines[i].rstrip("\r")
                if cur.startswith("#"):
                    i += 1
                    continue
                if not cur.strip():
                    break
                expected.append(cur.rstrip())
                i += 1
            rec.expected = expected
        rec.end = i
        records.append(rec)
    return records


def parse_file(path: str | Path) -> list[Record]:
    """Parse one file from disk."""
    return parse_text(Path(path).read_text(encoding="utf-8"))
