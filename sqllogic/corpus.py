"""The public corpus, its PostgreSQL 15 baseline, and sqlvec's known failures.

The gate: every record PostgreSQL 15 passes must pass on sqlvec, except the records
listed in known_failures.json (what the engine cannot do yet). A record outside that
list that fails is a regression.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqllogic.backends import BackendFactory
from sqllogic.runner import FileReport, run_file

HERE = Path(__file__).resolve().parent
KNOWN_FAILURES = HERE / "known_failures.json"
PROJECT_DIR = HERE / "tests"


def corpus_dir() -> Path:
    """Where the corpus lives: $SQLVEC_SLT_CORPUS, else ../shared/sqllogic-corpus."""
    env = os.environ.get("SQLVEC_SLT_CORPUS")
    if env:
        return Path(env)
    for cand in (
        HERE.parent / "shared" / "sqllogic-corpus",
        HERE.parent.parent / "shared" / "sqllogic-corpus",
    ):
        if cand.exists():
            return cand
    return HERE.parent.parent / "shared" / "sqllogic-corpus"


def file_sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def load_baseline(root: Path | None = None) -> dict:
    """pg15_baseline.json of the corpus."""
    root = root or corpus_dir()
    return json.loads((root / "pg15_baseline.json").read_text())


def corpus_files(root: Path | None = None) -> list[str]:
    """Relative paths of the corpus files, in a stable order."""
    root = root or corpus_dir()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.test"))


def project_files() -> list[str]:
    """Relative paths (to sqllogic/tests) of the project's own .slt files."""
    return sorted(str(p.relative_to(PROJECT_DIR)) for p in PROJECT_DIR.rglob("*.slt"))


def baseline_entry(baseline: dict, root: Path, rel: str) -> dict | None:
    """The baseline's entry for a file, found by the sha1 of its bytes."""
    return baseline["files"].get(file_sha1(root / rel))


def run_corpus_baseline(factory: BackendFactory, root: Path | None = None, *, log=print) -> dict:
    """Run every corpus file (PostgreSQL: this makes pg15_baseline.json's content)."""
    root = root or corpus_dir()
    files: dict[str, dict] = {}
    totals = dict.fromkeys(("records", "passed", "failed", "skipped", "excluded", "not_run"), 0)
    for rel in corpus_files(root):
        rep = run_file(root / rel, factory, display_path=rel)
        files[file_sha1(root / rel)] = rep.as_dict()
        for k in totals:
            totals[k] += getattr(rep, k)
        log(_line(rep))
    return {"format": "slt_run-report-1", "engine": "postgresql", "totals": totals, "files": files}


def compare_with_baseline(report: dict, baseline: dict) -> list[str]:
    """Differences in failed lines between a fresh PostgreSQL run and the baseline."""
    problems = []
    for sha, want in baseline["files"].items():
        got = report["files"].get(sha)
        if got is None:
            problems.append(f"{want['path']}: not run")
            continue
        for key in ("records", "skipped", "failed"):
            if got[key] != want[key]:
                problems.append(f"{want['path']}: {key} {got[key]} != baseline {want[key]}")
        extra = sorted(set(got["failed_lines"]) - set(want["failed_lines"]))
        missing = sorted(set(want["failed_lines"]) - set(got["failed_lines"]))
        if extra:
            problems.append(f"{want['path']}: fails lines the baseline passes: {extra[:20]}")
        if missing:
            problems.append(f"{want['path']}: passes lines the baseline fails: {missing[:20]}")
    return problems


@dataclass
class GateResult:
    """sqlvec against the baseline for a set of files."""

    reports: list[FileReport] = field(default_factory=list)
    regressions: dict[str, list[int]] = field(default_factory=dict)  # path -> lines
    fixed: dict[str, list[int]] = field(default_factory=dict)  # known failures that pass now
    failing: dict[str, list[int]] = field(default_factory=dict)  # all failed lines now

    @classmethod
    def merged(cls, parts: list[GateResult]) -> GateResult:
        """One result of gates run on disjoint sets of files (in the parts' order)."""
        out = cls()
        for r in parts:
            out.reports += r.reports
            out.regressions.update(r.regressions)
            out.fixed.update(r.fixed)
            out.failing.update(r.failing)
        return out

    def totals(self) -> tuple[int, int, int]:
        """(records PostgreSQL passes, of those sqlvec passes, known failures)."""
        pg = sum(r.passed + r.failed for r in self.reports)
        ok = sum(r.passed for r in self.reports)
        known = sum(len(v) for v in self.failing.values()) - sum(
            len(v) for v in self.regressions.values()
        )
        return pg, ok, known


def load_known(section: str) -> dict[str, list[int]]:
    """The known failures of one section ('corpus', 'project-wire', ...)."""
    if not KNOWN_FAILURES.exists():
        return {}
    return json.loads(KNOWN_FAILURES.read_text()).get(section, {})


def save_known(section: str, failing: dict[str, list[int]]) -> None:
    """Replace one section of known_failures.json."""
    data = json.loads(KNOWN_FAILURES.read_text()) if KNOWN_FAILURES.exists() else {}
    data[section] = {k: sorted(v) for k, v in sorted(failing.items()) if v}
    KNOWN_FAILURES.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def run_gate(
    factory: BackendFactory,
    files: list[tuple[Path, str]],
    *,
    exclude: dict[str, list[int]] | None = None,
    known: dict[str, list[int]] | None = None,
    log=print,
    sample: int = 1,
) -> GateResult:
    """Run `files` ((path, display name)) on sqlvec; failures not in `known` are regressions.

    With `sample` N only every Nth query runs (statements always do); see run_records.

    `exclude` maps a display name to lines PostgreSQL itself fails (they run, uncounted).
    """
    exclude = exclude or {}
    known = known or {}
    result = GateResult()
    for path, name in files:
        rep = run_file(
            path, factory, display_path=name, exclude_lines=exclude.get(name, ()), sample=sample
        )
        result.reports.append(rep)
        failed = set(rep.failed_lines)
        allowed = set(known.get(name, ()))
        result.failing[name] = sorted(failed)
        if failed - allowed:
            result.regressions[name] = sorted(failed - allowed)
        fixed = allowed & set(rep.passed_lines)
        if fixed:
            result.fixed[name] = sorted(fixed)
        log(_line(rep) + (f"  REGRESSIONS {len(failed - allowed)}" if failed - allowed else ""))
    return result


def corpus_gate_files(
    root: Path | None = None,
) -> tuple[list[tuple[Path, str]], dict[str, list[int]]]:
    """The corpus files and, per file, the lines PostgreSQL 15 fails (to exclude)."""
    root = root or corpus_dir()
    baseline = load_baseline(root)
    files, exclude = [], {}
    for rel in corpus_files(root):
        entry = baseline_entry(baseline, root, rel)
        if entry is None:
            raise RuntimeError(f"{rel} is not in pg15_baseline.json (changed file?)")
        files.append((root / rel, rel))
        exclude[rel] = entry["failed_lines"]
    return files, exclude


def _line(rep: FileReport) -> str:
    return (
        f"{rep.path:45s} records {rep.records:6d} passed {rep.passed:6d} failed {rep.failed:5d} "
        f"skipped {rep.skipped:5d} excluded {rep.excluded:4d} {rep.seconds:7.2f}s"
        + (f"  [{rep.note}]" if rep.note else "")
    )
