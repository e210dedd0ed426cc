"""Text COPY backslash escapes of a whole column by Arrow kernels equal the per-value reader."""

from __future__ import annotations

import random

import pyarrow as pa

from sqlvec.session import Database, Session
from sqlvec.wire.copy import CopyIn, _unescape_column, _unescape_text, parse_copy
from tests.support.rows import run


def test_column_unescape_equals_the_per_value_reader_on_random_values():
    rnd = random.Random(5)
    alpha = ["\\", "\\", "n", "t", "b", "x", "4", "7", "a", "\n", "é", "1", "f", "r", "v", "."]
    for _ in range(2000):
        vals = [None if rnd.random() < 0.1 else
                "".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 10)))
                for _ in range(rnd.randint(1, 8))]
        want = [None if v is None else _unescape_text(v) for v in vals]
        assert _unescape_column(pa.array(vals, pa.string())).to_pylist() == want, vals


def test_copy_text_escapes_and_bytea_end_to_end():
    db = Database.open(None)
    s = Session(db)
    try:
        run(s, "CREATE TABLE e (id int, t text, b bytea)")
        data = (b"1\ta\\tb\\\\n\\x41\\101\t\\\\x0102\n"
                b"2\tline\\nbreak\\.\t\\\\x\n"
                b"3\t\\N\t\\N\n")
        cmd = parse_copy("COPY e FROM STDIN")
        cin = CopyIn(s, cmd, s.prepare("SELECT * FROM e", [], "").columns)
        cin.feed(data)
        assert cin.finish() == 3
        assert run(s, "SELECT id, t, b FROM e ORDER BY id") == [
            (1, "a\tb\\nAA", b"\x01\x02"), (2, "line\nbreak.", b""), (3, None, None)]
    finally:
        s.close()
        db.close()
