"""bench/ann_equal.py: QPS at equal recall from an ef_search sweep (pure arithmetic)."""

from __future__ import annotations

import doctest
import math
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import ann_equal  # noqa: E402
from ann_equal import AtRecall, qps_at_recall  # noqa: E402

SWEEP = [(0.807, 6426.0), (0.935, 7804.0), (0.978, 7059.0), (0.998, 6270.0), (0.998, 4517.0)]


def test_doctests():
    assert doctest.testmod(ann_equal).failed == 0


def test_interpolates_log_qps_between_the_bracketing_points():
    at = qps_at_recall(SWEEP, 0.95)
    t = (0.95 - 0.935) / (0.978 - 0.935)
    want = math.exp(math.log(7804) + t * (math.log(7059) - math.log(7804)))
    assert at == AtRecall(pytest.approx(want), False)
    assert 7059 < at.qps < 7804


def test_exact_sweep_point_and_first_crossing():
    assert qps_at_recall(SWEEP, 0.978) == AtRecall(pytest.approx(7059.0), False)
    # 0.998 is first reached at the fourth point: the plateau's slower point is not used
    assert qps_at_recall(SWEEP, 0.998) == AtRecall(pytest.approx(6270.0), False)


def test_not_reached_and_lower_bound():
    assert qps_at_recall(SWEEP, 0.999) is None
    assert qps_at_recall([], 0.9) is None
    assert qps_at_recall(SWEEP, 0.5) == AtRecall(6426.0, True)


def test_a_dip_in_recall_does_not_bracket():
    # recall noise: the 0.95 point after 0.96 is skipped as a lower bracket
    pts = [(0.90, 1000.0), (0.96, 800.0), (0.95, 900.0), (0.99, 400.0)]
    at = qps_at_recall(pts, 0.98)
    t = (0.98 - 0.96) / (0.99 - 0.96)
    assert at.qps == pytest.approx(math.exp(math.log(800) + t * (math.log(400) - math.log(800))))


def test_table_ratios_and_missing_paths():
    curves = {"wire": [(0.9, 3000.0), (0.99, 2000.0)], "pg": [(0.95, 4000.0), (0.98, 3000.0)]}
    headers, rows = ann_equal.table(curves, [("wire", "pg"), ("emb", "usearch")], (0.95, 0.99))
    assert headers[:4] == ["recall", "wire", "pg", "wire / pg"]
    assert rows[0][3].endswith("x~")  # pg's first point is a bound
    assert rows[1][2:4] == ["not reached", "-"]
    assert rows[0][4:] == ["-", "-", "-"]


def test_binary_copy_rows():
    """bench/ann_multi.copy_rows: the binary COPY tuples both servers' loads are timed on."""
    import ann_multi
    import numpy as np

    assert doctest.testmod(ann_multi).failed == 0
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = ann_multi.copy_rows(x, 999)
    assert len(b) == 2 * (2 + (4 + 4) * 2 + 4 + 2 + 2 + 4 * 3)  # fields, lengths, vector
    second = b[len(b) // 2:]
    assert int.from_bytes(second[6:10], "big") == 1000 and int.from_bytes(second[14:18], "big") == 0
    assert np.array_equal(np.frombuffer(second[-12:], ">f4"), x[1])


def test_curves_from_sweep_rows():
    """bench/ann.py's rows -> per-path (recall, QPS) in ef order; filtered rows and
    missing columns are left out; --quantizer specs parse."""
    saved = dict(os.environ)
    import ann  # (sets BLAS thread variables for the servers it starts: not for this session)

    os.environ.clear()
    os.environ.update(saved)
    assert doctest.testmod(ann).failed == 0
    rows = [["wire", 40, 0.98, 3000.0, 3500.0], ["wire", 10, 0.80, 5000.0, 5200.0],
            ["SQL filtered 10% (short of k: 0)", 40, 1.0, 2000.0, "-"], ["x", "-", "-", "-"]]
    assert ann.curves(rows) == {"wire": [(0.80, 5000.0), (0.98, 3000.0)],
                                "SQL filtered 10% (short of k: 0)": [(1.0, 2000.0)]}
    assert ann.curves(rows, 4) == {"wire": [(0.80, 5200.0), (0.98, 3500.0)]}
    assert ann.quantizer_specs("i8:2, default") == [("i8:2", {"quantizer": "i8", "rerank": "2"}),
                                                    ("default", {})]
