"""Deferred vs immediate foreign key checks: N child rows inserted in S statements of one
transaction, parent present; CPU seconds (process_time) for the whole transaction and ratio.

    .venv/bin/python bench/fk_deferred.py [rows] [statements]
"""

from __future__ import annotations

import sys
import time

import sqlvec


def run(mode: str, rows: int, stmts: int) -> float:
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute(f"INSERT INTO p SELECT g FROM generate_series(1, {rows}) g")
    cur.execute(f"CREATE TABLE c (id int, p int REFERENCES p {mode})")
    per = rows // stmts
    t0 = time.process_time()
    cur.execute("BEGIN")
    for i in range(stmts):
        cur.execute(f"INSERT INTO c SELECT g, g FROM generate_series({i * per + 1}, {(i + 1) * per}) g")
    cur.execute("COMMIT")
    return time.process_time() - t0


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    stmts = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    imm = min(run("", rows, stmts) for _ in range(3))
    dfr = min(run("DEFERRABLE INITIALLY DEFERRED", rows, stmts) for _ in range(3))
    print("| rows | statements | immediate cpu s | deferred cpu s | deferred/immediate |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    print(f"| {rows} | {stmts} | {imm:.3f} | {dfr:.3f} | {dfr / imm:.2f} |")


if __name__ == "__main__":
    main()
