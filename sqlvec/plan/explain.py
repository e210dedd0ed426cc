"""EXPLAIN text for logical plans, and EXPLAIN ANALYZE row counts and timings."""

from __future__ import annotations

import time
from typing import Any

from sqlvec.plan import logical as L


def _label(p: L.Plan) -> str:
    if isinstance(p, L.Scan):
        s = f"Seq Scan on {p.table.name}"
        return s
    if isinstance(p, L.Join):
        if p.kind == "cross":
            return "Nested Loop"
        return f"Hash {'Join' if p.kind == 'inner' else p.kind.capitalize() + ' Join'}"
    if isinstance(p, L.Aggregate):
        return "HashAggregate" if p.groups else "Aggregate"
    if isinstance(p, L.Values):
        return "Result" if len(p.rows) == 1 else "Values Scan"
    if isinstance(p, L.DistinctNode):
        return "Unique"
    if isinstance(p, L.SetOp):
        return {"union": "Append", "intersect": "SetOp Intersect", "except": "SetOp Except"}[p.kind]
    if isinstance(p, L.FunctionScan):
        return f"Function Scan on {p.name}"
    if isinstance(p, L.CteRef):
        return f"CTE Scan on {p.name}"
    if isinstance(p, L.Insert):
        return f"Insert on {p.table.name}"
    if isinstance(p, L.Update):
        return f"Update on {p.table.name}"
    if isinstance(p, L.Delete):
        return f"Delete on {p.table.name}"
    label = getattr(p, "explain_label", None)  # extension nodes (VectorSearch) name themselves
    return label() if callable(label) else type(p).__name__


def _details(p: L.Plan) -> list[str]:
    out = []
    more = getattr(p, "explain_details", None)
    if callable(more):
        out += more()
    if isinstance(p, L.Scan) and p.filter is not None:
        out.append(f"Filter: {p.filter}")
    if isinstance(p, L.Filter):
        out.append(f"Filter: {p.predicate}")
    if isinstance(p, L.Join) and p.condition is not None:
        out.append(f"Join Filter: {p.condition}" if p.kind == "cross" else f"Hash Cond: {p.condition}")
    if isinstance(p, L.Sort):
        keys = ", ".join(f"{k.expr}{' DESC' if k.desc else ''}" for k in p.keys)
        out.append(f"Sort Key: {keys}")
    if isinstance(p, L.Aggregate) and p.groups:
        out.append("Group Key: " + ", ".join(map(str, p.groups)))
    return out


def explain_text(plan: L.Plan, stats: dict[int, tuple[int, float]] | None = None) -> list[str]:
    """Indented plan lines in PostgreSQL's style ('->' for children)."""
    lines: list[str] = []

    def visit(p: L.Plan, depth: int) -> None:
        if isinstance(p, L.Project):  # projections are implicit in PostgreSQL's EXPLAIN
            visit(p.input, depth)
            return
        if isinstance(p, L.WithCtes):
            visit(p.body, depth)
            return
        label = _label(p)
        if stats is not None and id(p) in stats:
            rows, ms = stats[id(p)]
            label += f" (actual time={ms:.3f} rows={rows} loops=1)"
        pad = "  " * depth
        lines.append((pad + "->  " if depth else "") + label)
        details = _details(p)
        segs = getattr(stats, "segments", {}).get(id(p))
        if segs is not None:  # storage's min/max skip of sealed segments (sqlvec's own line)
            details.append(f"Segments Skipped by Min/Max: {segs[1]} of {segs[0]}")
        for d in details:
            lines.append(pad + ("      " if depth else "  ") + d)
        for c in p.inputs():
            visit(c, depth + 1 if depth else 1)

    visit(plan, 0)
    return lines


class AnalyzeStats(dict):
    """id(node) -> (rows, ms); `.segments`: id(scan) -> [segments checked, skipped]."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: dict[int, list[int]] = {}


def analyze(ctx: Any, plan: L.Plan) -> dict[int, tuple[int, float]]:
    """Run the plan, recording rows and wall time per node (and segments skipped per scan)."""
    stats = AnalyzeStats()
    ctx.segment_stats = stats.segments
    ex = ctx.executor
    orig = ex.run

    def run(p: L.Plan):
        t0 = time.perf_counter()
        rows = 0
        for b in orig(p):
            rows += b.num_rows
            yield b
        prev = stats.get(id(p), (0, 0.0))
        stats[id(p)] = (prev[0] + rows, prev[1] + (time.perf_counter() - t0) * 1000)

    ex.run = run  # type: ignore[method-assign]
    try:
        if isinstance(plan, L.Insert | L.Update | L.Delete):
            from sqlvec.session.utility_exec import execute_plan  # noqa: F401
        for _ in run(plan):
            pass
    finally:
        ex.run = orig  # type: ignore[method-assign]
        ctx.segment_stats = None
    return stats
