"""QPS at equal recall: what each path of an ef_search sweep reaches at a given recall@10.

Two paths swept over the same ef_search values reach different recalls at the same ef (a
bfloat16 graph loses a little recall against pgvector's float32 one), so QPS compared at
the same ef is not a fair ratio. Here each path's sweep is read as a curve: the QPS at a
recall level is interpolated between the two sweep points that bracket it (log QPS linear
in recall, as QPS falls about geometrically while recall climbs), then paths are compared
at that recall.

    >>> pts = [(0.80, 4000.0), (0.90, 2000.0), (0.99, 1000.0)]
    >>> round(qps_at_recall(pts, 0.85).qps)    # half-way in recall: geometric mean
    2828
    >>> qps_at_recall(pts, 0.995) is None        # the sweep never gets there
    True
    >>> qps_at_recall(pts, 0.70)                 # reached at the sweep's first point already
    AtRecall(qps=4000.0, bound=True)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import NamedTuple

LEVELS = (0.90, 0.95, 0.98, 0.99)


class AtRecall(NamedTuple):
    """QPS at a recall level; `bound`: the sweep's first point already had more recall, so
    this is that point's QPS, a lower bound (a smaller ef_search would be faster)."""

    qps: float
    bound: bool


def qps_at_recall(points: Sequence[tuple[float, float]], target: float) -> AtRecall | None:
    """QPS reached at recall `target` along a sweep of (recall, QPS) points in ef_search order.

    The first point whose recall is >= target ends the search: its QPS is interpolated with
    the point before it (log QPS linear in recall); None when no point reaches the target.
    """
    prev: tuple[float, float] | None = None
    for r, q in points:
        if not (q > 0 and math.isfinite(q)):
            return None
        if r >= target:
            if prev is None:
                return AtRecall(q, True)
            r0, q0 = prev
            if r <= r0:  # recall did not climb between the two: no slope to follow
                return AtRecall(q, False)
            t = (target - r0) / (r - r0)
            return AtRecall(math.exp(math.log(q0) + t * (math.log(q) - math.log(q0))), False)
        if prev is None or r > prev[0]:
            prev = (r, q)  # (a point with less recall than one before it brackets nothing)
    return None


def fmt(at: AtRecall | None) -> str:
    """'not reached', 'NNN' or '>=NNN' (a lower bound)."""
    if at is None:
        return "not reached"
    return (">=" if at.bound else "") + f"{at.qps:,.0f}"


def ratio(a: AtRecall | None, b: AtRecall | None) -> str:
    """a / b at the same recall; '-' when either is missing, '~' marks a bound involved."""
    if a is None or b is None:
        return "-"
    return f"{a.qps / b.qps:.2f}x" + ("~" if a.bound or b.bound else "")


def table(curves: dict[str, list[tuple[float, float]]], pairs: Sequence[tuple[str, str]],
          levels: Sequence[float] = LEVELS) -> tuple[list[str], list[list[object]]]:
    """Headers and rows: per recall level, each pair's QPS (a, b) and a / b.

    >>> h, rows = table({"ours": [(0.9, 900.0), (0.99, 300.0)],
    ...                  "peer": [(0.95, 400.0), (1.0, 100.0)]}, [("ours", "peer")], (0.95,))
    >>> rows
    [['0.95', '489', '>=400', '1.22x~']]
    """
    headers = ["recall"]
    for a, b in pairs:
        headers += [a, b, f"{a} / {b}"]
    rows = []
    for lv in levels:
        row: list[object] = [f"{lv:.2f}"]
        for a, b in pairs:
            qa = qps_at_recall(curves.get(a, []), lv) if a in curves else None
            qb = qps_at_recall(curves.get(b, []), lv) if b in curves else None
            row += [fmt(qa) if a in curves else "-", fmt(qb) if b in curves else "-",
                    ratio(qa, qb)]
        rows.append(row)
    return headers, rows


def median_rounds(rows: list[list[object]]) -> list[list[object]]:
    """One row per (path, ef_search), in first-seen order: the median of each numeric column
    over the rounds that ran it (a burst of load on a shared box lands in one round).

    >>> median_rounds([["a", 10, 0.9, 100.0, 90.0], ["a", 10, 0.9, 300.0, 95.0],
    ...                ["a", 10, 0.9, 120.0, 99.0], ["b", 10, 0.8, 5.0, "-"]])
    [['a', 10, 0.9, 120.0, 95.0], ['b', 10, 0.8, 5.0, '-']]
    """
    groups: dict[tuple, list[list[object]]] = {}
    for r in rows:
        groups.setdefault((str(r[0]), r[1]), []).append(r)
    out = []
    for same in groups.values():
        row = list(same[0])
        for j in range(2, len(row)):
            vals = [r[j] for r in same]
            if all(isinstance(v, (int, float)) for v in vals):
                row[j] = statistics.median(vals)
        out.append(row)
    return out
