"""An embedded connection and a `run(sql, params)` that returns the rows (None for a
statement without a result), for tests that drive a data directory through sqlvec.connect."""

from __future__ import annotations


def connect_run(path):
    import sqlvec

    con = sqlvec.connect(path)
    con.autocommit = True
    cur = con.cursor()

    def run(sql, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None
    return con, run
