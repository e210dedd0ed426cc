"""`python -m sqllogic`: run logic-test files, make the PostgreSQL baseline, run the gates.

python -m sqllogic run --pg FILE...                 # against a throw-away PostgreSQL 15
python -m sqllogic run --pg --complete FILE...      # rewrite expected results from PG
python -m sqllogic run --serve FILE...              # against `python -m sqlvec serve`
python -m sqllogic run --embedded FILE...           # against sqlvec.connect(':memory:')
python -m sqllogic run --dsn 'host=... port=...' FILE...
python -m sqllogic baseline [--out F]               # corpus on PG15 vs pg15_baseline.json
python -m sqllogic corpus [--embedded] [--update-known-failures]
python -m sqllogic project [--embedded] [--update-known-failures]
python -m sqllogic project --pg --complete          # regenerate our files' results
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqllogic import corpus
from sqllogic.backends import BackendFactory, embedded_factory, wire_factory
from sqllogic.runner import run_file
from sqllogic.servers import postgres_server, sqlvec_server


@contextmanager
def target_factory(args: argparse.Namespace) -> Iterator[BackendFactory]:
    """The per-file backend factory the command line asked for."""
    timeout = args.timeout or None
    if args.embedded:
        yield embedded_factory(":memory:")
        return
    if args.dsn:
        yield wire_factory(args.dsn, args.isolation or "schema", timeout)
        return
    if args.pg:
        with postgres_server() as dsn:
            yield wire_factory(dsn, "schema", timeout)
        return
    # sqlvec over the wire: one server with a schema per file, or a fresh server per file
    if args.isolation == "schema":
        with sqlvec_server() as dsn:
            yield wire_factory(dsn, "schema", timeout)
        return

    @contextmanager
    def fresh_server():
        with ExitStack() as stack:
            dsn = stack.enter_context(sqlvec_server())
            with wire_factory(dsn, "none", timeout)() as backend:
                yield backend

    yield fresh_server


def _add_target(p: argparse.ArgumentParser, default_pg: bool = False) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--pg", action="store_true", default=default_pg, help="throw-away PostgreSQL 15")
    g.add_argument("--dsn", help="any PostgreSQL-wire server")
    g.add_argument("--embedded", action="store_true", help="sqlvec.connect(':memory:')")
    g.add_argument("--serve", action="store_true", help="python -m sqlvec serve (default)")
    p.add_argument("--isolation", choices=("schema", "none"), help="per-file isolation on a server")
    p.add_argument("--timeout", type=float, default=0, help="per-statement timeout (s), wire only")
    p.add_argument("-v", "--verbose", action="count", default=0, help="print failures")


def _print_failures(rep, verbose: int) -> None:
    if not verbose:
        return
    for f in rep.failures[: None if verbose > 1 else 20]:
        sql = f.sql.replace("\n", " ")
        print(f"  line {f.line}: {sql[:160]}\n      {f.reason[:400]}")


def cmd_run(args: argparse.Namespace) -> int:
    failed = 0
    with target_factory(args) as factory:
        for name in args.files:
            shown = os.path.relpath(name) if os.path.isabs(name) else name
            rep = run_file(name, factory, complete=args.complete, display_path=shown)
            print(corpus._line(rep))
            _print_failures(rep, args.verbose or (0 if args.complete else 1))
            failed += rep.failed
    return 0 if failed == 0 or args.complete else 1


def cmd_baseline(args: argparse.Namespace) -> int:
    root = corpus.corpus_dir()
    with postgres_server() as dsn:
        report = corpus.run_corpus_baseline(wire_factory(dsn, "schema"), root)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    problems = corpus.compare_with_baseline(report, corpus.load_baseline(root))
    t = report["totals"]
    print(
        f"total: records {t['records']} passed {t['passed']} failed {t['failed']} skipped {t['skipped']}"
    )
    for p in problems:
        print("DIFF", p)
    print("matches pg15_baseline.json" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


def _gate(args: argparse.Namespace, files, exclude, section: str) -> int:
    known = corpus.load_known(section)
    with target_factory(args) as factory:
        sample = 1 if args.update_known_failures else args.sample
        result = corpus.run_gate(factory, files, exclude=exclude, known=known, sample=sample)
    for rep in result.reports:
        _print_failures(rep, args.verbose)
    pg, ok, nknown = result.totals()
    print(f"{section}: records PostgreSQL passes {pg}, sqlvec passes {ok}, known failures {nknown}")
    if args.update_known_failures:
        corpus.save_known(section, result.failing)
        print(
            f"wrote {sum(len(v) for v in result.failing.values())} known failures to {corpus.KNOWN_FAILURES}"
        )
        return 0
    if result.fixed:
        print(
            "now passing (run with --update-known-failures):",
            {k: len(v) for k, v in result.fixed.items()},
        )
    if result.regressions:
        print("REGRESSIONS:", {k: v[:10] for k, v in result.regressions.items()})
        return 1
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    files, exclude = corpus.corpus_gate_files()
    if args.only:
        files = [f for f in files if args.only in f[1]]
    section = "corpus-embedded" if args.embedded else "corpus"
    return _gate(args, files, exclude, section)


def cmd_project(args: argparse.Namespace) -> int:
    names = corpus.project_files()
    if args.only:
        names = [n for n in names if args.only in n]
    files = [(corpus.PROJECT_DIR / n, n) for n in names]
    if args.pg or args.dsn:
        args.files = [str(p) for p, _ in files]
        return cmd_run(args)
    section = "project-embedded" if args.embedded else "project"
    return _gate(args, files, {}, section)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sqllogic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="run files")
    _add_target(p)
    p.add_argument("--complete", action="store_true", help="rewrite expected results")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("baseline", help="corpus on PostgreSQL 15, compared with pg15_baseline.json")
    p.add_argument("--out", help="also write the report JSON here")
    p.set_defaults(func=cmd_baseline)
    for name, func, hlp in (
        ("corpus", cmd_corpus, "corpus gate on sqlvec"),
        ("project", cmd_project, "the project's own files"),
    ):
        p = sub.add_parser(name, help=hlp)
        _add_target(p)
        p.add_argument("--update-known-failures", action="store_true")
        p.add_argument(
            "--complete", action="store_true", help="with --pg: rewrite expected results"
        )
        p.add_argument("--only", help="only files whose path contains this")
        p.add_argument("--sample", type=int, default=1,
                       help="run every Nth query only (statements always run)")
        p.set_defaults(func=func)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
