"""Seeded random tables and queries for differential testing against PostgreSQL.

Every query is deterministic in PostgreSQL's semantics: ORDER BY ... LIMIT orders by
every output column, division goes through NULLIF(x, 0), text order is the C collation.
Each query carries the set of feature classes it uses, so a known-failures list can name
classes ('join:full', 'setop:intersect_all', ...) rather than single queries.

    >>> gen = QueryGen(7)
    >>> q = gen.query()
    >>> q.sql.startswith(("SELECT", "(SELECT"))
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

WORDS = ["apple", "banana", "cherry", "date", "", "Apple", "b%x", "kiwi", "a b"]

SCHEMA = {
    "t1": {"id": "int", "a": "int", "b": "int", "c": "float", "d": "text", "n": "numeric",
           "flag": "bool"},
    "t2": {"id": "int", "a": "int", "e": "int", "f": "text"},
}
DDL = [
    "CREATE TABLE t1(id INTEGER, a INTEGER, b INTEGER, c DOUBLE PRECISION, d TEXT,"
    " n NUMERIC(8,2), flag BOOLEAN)",
    "CREATE TABLE t2(id INTEGER, a INTEGER, e INTEGER, f TEXT)",
]


def _lit(v: object) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


def table_data(seed: int, n1: int = 40, n2: int = 25) -> list[str]:
    """CREATE TABLE + INSERT statements for t1 and t2 (ints with NULLs, floats, texts)."""
    rnd = random.Random(seed)

    def maybe(v, p=0.15):
        return None if rnd.random() < p else v

    rows1 = [
        (i, maybe(rnd.randint(-5, 10)), maybe(rnd.randint(0, 100), 0.1),
         maybe(round(rnd.uniform(-50, 50), 2)), maybe(rnd.choice(WORDS)),
         maybe(round(rnd.uniform(-999, 999), 2)), maybe(rnd.random() < 0.5))
        for i in range(1, n1 + 1)
    ]
    rows2 = [
        (i, maybe(rnd.randint(-5, 10)), maybe(rnd.randint(-20, 20), 0.1), maybe(rnd.choice(WORDS)))
        for i in range(1, n2 + 1)
    ]
    ins = []
    for name, rows in (("t1", rows1), ("t2", rows2)):
        values = ", ".join("(" + ", ".join(_lit(v) for v in r) + ")" for r in rows)
        ins.append(f"INSERT INTO {name} VALUES {values}")
    return DDL + ins


@dataclass
class Query:
    """A generated query: its SQL, whether row order is fixed, and its feature classes."""

    sql: str
    ordered: bool = False
    classes: set[str] = field(default_factory=set)


class QueryGen:
    """Random well-typed expressions and queries over t1/t2."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.classes: set[str] = set()
        self.in_select = False

    # -- expressions ------------------------------------------------------------------
    def _cols(self, tables: list[str], typ: str) -> list[str]:
        out = []
        for t in tables:
            for c, ct in SCHEMA[t].items():
                if ct == typ:
                    out.append(f"{t}.{c}" if len(tables) > 1 else c)
        return out

    def int_expr(self, tables: list[str], depth: int = 0) -> str:
        r = self.rnd
        cols = self._cols(tables, "int")
        if depth >= 2 or r.random() < 0.45:
            return r.choice(cols) if r.random() < 0.8 else str(r.randint(-3, 20))
        k = r.randrange(11)
        x, y = self.int_expr(tables, depth + 1), self.int_expr(tables, depth + 1)
        if k == 8:
            # PostgreSQL evaluates CASE lazily: the division never sees a zero divisor
            self.classes.add("expr:case_guarded_division")
            return f"CASE WHEN {y} <> 0 THEN {x} / {y} ELSE -1 END"
        if k == 9 and not self.in_select:
            return f"abs({x})"
        if k == 9:
            # sometimes overflows int4 (22003), which must surface as the same SQLSTATE; only in
            # select lists, where no engine may evaluate it for rows the WHERE clause dropped
            self.classes.add("error:overflow")
            col = r.choice(cols)
            return f"({col} * {col} * {col} * {col} * {col})"
        if k == 10:
            self.classes.add("expr:is_distinct")
            return f"CASE WHEN {x} IS DISTINCT FROM {y} THEN 1 ELSE 0 END"
        if k == 0:
            return f"({x} + {y})"
        if k == 1:
            return f"({x} - {y})"
        if k == 2:
            return f"({x} * {r.randint(-3, 3)})"
        if k == 3:
            self.classes.add("expr:case")
            return f"CASE WHEN {self.bool_expr(tables, depth + 1)} THEN {x} ELSE {y} END"
        if k == 4:
            return f"COALESCE({x}, {y})"
        if k == 5:
            self.classes.add("expr:division")
            return f"({x} / NULLIF({y}, 0))"
        if k == 6:
            self.classes.add("expr:modulo")
            return f"({x} % NULLIF({y}, 0))"
        return f"abs({x})"

    def float_expr(self, tables: list[str], depth: int = 0) -> str:
        r = self.rnd
        cols = self._cols(tables, "float") or ["0.5::float8"]
        base = r.choice(cols)
        k = r.randrange(7)
        if k == 0:
            return base
        if k == 1:
            return f"({base} + {self.int_expr(tables, depth + 1)})"
        if k == 2:
            return f"({base} * 2)"
        if k == 3:
            self.classes.add("expr:float_division")
            return f"({base} / 4)"
        if k == 4 and self._cols(tables, "numeric"):
            self.classes.add("type:numeric")
            col = r.choice(self._cols(tables, "numeric"))
            return r.choice([col, f"({col} + {base}::numeric(10,2))", f"({col} * 3)", f"abs({col})"])
        if k == 5 and self._cols(tables, "numeric"):
            self.classes.add("type:numeric")
            return f"({r.choice(self._cols(tables, 'numeric'))} / 7)"
        return f"round({base})"

    def text_expr(self, tables: list[str], depth: int = 0) -> str:
        r = self.rnd
        cols = self._cols(tables, "text")
        base = r.choice(cols)
        k = r.randrange(9)
        if k == 6:
            self.classes.add("cast:float_text")
            return f"{r.choice(self._cols(tables, 'float') or [base])}::text"
        if k == 7:
            self.classes.add("cast:numeric_text")
            num = self._cols(tables, "numeric")
            return f"({r.choice(num)} / 3)::text" if num else f"{base}::text"
        if k == 8:
            self.classes.add("expr:case_text")
            bools = self._cols(tables, "bool")
            cond = f"{r.choice(bools)}" if bools and r.random() < 0.5 else self.bool_expr(tables, depth + 1)
            return f"CASE WHEN {cond} THEN {base} ELSE 'other' END"
        if k == 0:
            return base
        if k == 1:
            self.classes.add("fn:upper")
            return f"upper({base})"
        if k == 2:
            return f"({base} || 'x')"
        if k == 3:
            self.classes.add("fn:substr")
            return f"substr({base}, 1, 2)"
        if k == 4:
            return f"COALESCE({base}, 'none')"
        self.classes.add("fn:length")
        return f"length({base})::text"

    def bool_expr(self, tables: list[str], depth: int = 0) -> str:
        r = self.rnd
        if depth < 2 and r.random() < 0.35:
            k = r.randrange(3)
            x, y = self.bool_expr(tables, depth + 1), self.bool_expr(tables, depth + 1)
            if k == 0:
                return f"({x} AND {y})"
            if k == 1:
                return f"({x} OR {y})"
            return f"NOT ({x})"
        k = r.randrange(9)
        op = r.choice(["=", "<>", "<", "<=", ">", ">="])
        if k <= 2:
            return f"{self.int_expr(tables, depth + 1)} {op} {self.int_expr(tables, depth + 1)}"
        if k == 3:
            return f"{self.float_expr(tables, depth + 1)} {op} {r.randint(-30, 30)}"
        if k == 4:
            self.classes.add("pred:text_cmp")
            return f"{self.text_expr(tables, depth + 1)} {op} {_lit(r.choice(WORDS))}"
        if k == 5:
            neg = r.choice(["", "NOT "])
            col = r.choice([c for t in ("int", "text", "float") for c in self._cols(tables, t)])
            return f"{col} IS {neg}NULL"
        if k == 6:
            lo = r.randint(-5, 5)
            self.classes.add("pred:between")
            neg = r.choice(["", "NOT "])
            return f"{self.int_expr(tables, depth + 1)} {neg}BETWEEN {lo} AND {lo + r.randint(0, 8)}"
        if k == 7:
            items = [str(r.randint(-5, 10)) for _ in range(r.randint(1, 4))]
            if r.random() < 0.3:
                items.append("NULL")
                self.classes.add("pred:in_null")
            neg = r.choice(["", "NOT "])
            self.classes.add("pred:in_list")
            return f"{self.int_expr(tables, depth + 1)} {neg}IN ({', '.join(items)})"
        self.classes.add("pred:like")
        pat = r.choice(["a%", "%an%", "_a%", "%e", "A%"])
        neg = r.choice(["", "NOT "])
        return f"{r.choice(self._cols(tables, 'text'))} {neg}LIKE '{pat}'"

    def any_expr(self, tables: list[str]) -> str:
        k = self.rnd.randrange(10)
        if k < 5:
            return self.int_expr(tables)
        if k < 7:
            return self.float_expr(tables)
        return self.text_expr(tables)

    # -- queries ----------------------------------------------------------------------
    def query(self) -> Query:
        """One random query; `classes` names the features it exercises."""
        self.classes = set()
        shape = self.rnd.choice(
            ["filter", "filter", "aggregate", "aggregate", "join", "join", "distinct", "setop",
             "subquery", "window"]
        )
        self.classes.add(f"shape:{shape}")
        sql, ncols = getattr(self, f"_q_{shape}")()
        ordered = False
        if shape != "setop" and self.rnd.random() < 0.35:
            keys = ", ".join(
                f"{i} {self.rnd.choice(['ASC', 'DESC'])} {self.rnd.choice(['NULLS FIRST', 'NULLS LAST'])}"
                for i in range(1, ncols + 1)
            )
            sql += f" ORDER BY {keys} LIMIT {self.rnd.randint(1, 12)}"
            if self.rnd.random() < 0.3:
                sql += f" OFFSET {self.rnd.randint(1, 5)}"
                self.classes.add("clause:offset")
            ordered = True
            self.classes.add("clause:order_limit")
        return Query(sql, ordered, set(self.classes))

    def _select_list(self, tables: list[str], n: int) -> str:
        self.in_select = True
        try:
            return ", ".join(f"{self.any_expr(tables)} AS c{i + 1}" for i in range(n))
        finally:
            self.in_select = False

    def _q_filter(self) -> tuple[str, int]:
        n = self.rnd.randint(1, 3)
        return f"SELECT {self._select_list(['t1'], n)} FROM t1 WHERE {self.bool_expr(['t1'])}", n

    def _q_distinct(self) -> tuple[str, int]:
        n = self.rnd.randint(1, 2)
        self.classes.add("clause:distinct")
        return f"SELECT DISTINCT {self._select_list(['t1'], n)} FROM t1 WHERE {self.bool_expr(['t1'])}", n

    def _agg(self, tables: list[str]) -> str:
        r = self.rnd
        k = r.randrange(10)
        if k == 8:
            self.classes.add("agg:numeric")
            return f"{r.choice(['sum', 'avg', 'min', 'max'])}(n)"
        if k == 9:
            self.classes.add("agg:bool")
            return f"{r.choice(['bool_and', 'bool_or'])}(flag)"
        if k == 0:
            return "count(*)"
        if k == 1:
            return f"count({r.choice(self._cols(tables, 'int') + self._cols(tables, 'text'))})"
        if k == 2:
            return f"sum({self.int_expr(tables, 1)})"
        if k == 3:
            return f"min({self.any_expr(tables)})"
        if k == 4:
            return f"max({self.any_expr(tables)})"
        if k == 5:
            self.classes.add("agg:avg")
            return f"avg({r.choice(self._cols(tables, 'int'))})"
        if k == 6:
            self.classes.add("agg:count_distinct")
            return f"count(DISTINCT {r.choice(self._cols(tables, 'int'))})"
        self.classes.add("agg:sum_float")
        return f"sum({r.choice(self._cols(tables, 'float'))})"

    def _q_aggregate(self) -> tuple[str, int]:
        r = self.rnd
        tables = ["t1"]
        where = f" WHERE {self.bool_expr(tables)}" if r.random() < 0.5 else ""
        aggs = [f"{self._agg(tables)} AS c{i + 2}" for i in range(r.randint(1, 3))]
        if r.random() < 0.2:
            self.classes.add("agg:global")
            aggs = [f"{self._agg(tables)} AS c{i + 1}" for i in range(r.randint(1, 3))]
            return f"SELECT {', '.join(aggs)} FROM t1{where}", len(aggs)
        key = r.choice(["a", "d", "b % 3", "a IS NULL", "COALESCE(d, 'none')", "flag", "a, flag",
                        "d, b % 2"])
        if key in ("a, flag", "d, b % 2"):
            self.classes.add("agg:two_keys")
            k1, k2 = key.split(", ")
            aggs = [f"{self._agg(tables)} AS c{i + 3}" for i in range(r.randint(1, 2))]
            return (f"SELECT {k1} AS c1, {k2} AS c2, {', '.join(aggs)} FROM t1{where} "
                    f"GROUP BY {key}"), 2 + len(aggs)
        having = ""
        if r.random() < 0.4:
            self.classes.add("clause:having")
            having = f" HAVING count(*) {r.choice(['>', '>=', '='])} {r.randint(1, 4)}"
        sql = f"SELECT {key} AS c1, {', '.join(aggs)} FROM t1{where} GROUP BY {key}{having}"
        return sql, 1 + len(aggs)

    def _q_join(self) -> tuple[str, int]:
        r = self.rnd
        kind = r.choice(["JOIN", "JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"])
        self.classes.add("join:" + kind.split()[0].lower())
        tables = ["t1", "t2"]
        on = ""
        if kind != "CROSS JOIN" and r.random() < 0.2:
            self.classes.add("join:using")
            n = r.randint(1, 2)
            sel = ", ".join(["a AS c1"] + [f"t2.e AS c{i + 2}" for i in range(n - 1)])
            return f"SELECT {sel} FROM t1 {kind} t2 USING (a, id)", n
        if kind != "CROSS JOIN":
            on = " ON t1.a = t2.a"
            if r.random() < 0.3:
                on += f" AND {self.bool_expr(tables, 1)}"
                self.classes.add("join:extra_on")
        where = f" WHERE {self.bool_expr(tables)}" if kind == "CROSS JOIN" or r.random() < 0.6 else ""
        n = r.randint(1, 3)
        return f"SELECT {self._select_list(tables, n)} FROM t1 {kind} t2{on}{where}", n

    def _q_setop(self) -> tuple[str, int]:
        r = self.rnd
        op = r.choice(["UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"])
        self.classes.add("setop:" + op.lower().replace(" ", "_"))
        left = f"SELECT {self.int_expr(['t1'])} FROM t1 WHERE {self.bool_expr(['t1'])}"
        right = f"SELECT {self.int_expr(['t2'])} FROM t2 WHERE {self.bool_expr(['t2'])}"
        return f"({left}) {op} ({right})", 1

    def _q_window(self) -> tuple[str, int]:
        r = self.rnd
        part = r.choice(["", "PARTITION BY a ", "PARTITION BY d ", "PARTITION BY b % 3 "])
        order = "ORDER BY id"  # id is unique: every window function is deterministic
        fn = r.choice([
            "row_number()", "rank()", "dense_rank()", f"sum({self.int_expr(['t1'], 1)})",
            "count(*)", f"lag(b, {r.randint(1, 2)})", "lead(d)", "min(c)", "max(d)",
            "first_value(b)",
        ])
        self.classes.add("window:" + fn.split("(")[0])
        frame = ""
        if fn.startswith(("sum", "count", "min", "max")) and r.random() < 0.4:
            frame = f" ROWS BETWEEN {r.randint(1, 3)} PRECEDING AND CURRENT ROW"
            self.classes.add("window:frame_rows")
        where = f" WHERE {self.bool_expr(['t1'])}" if r.random() < 0.5 else ""
        return f"SELECT id AS c1, {fn} OVER ({part}{order}{frame}) AS c2 FROM t1{where}", 2

    def _q_subquery(self) -> tuple[str, int]:
        r = self.rnd
        k = r.randrange(4)
        n = r.randint(1, 2)
        sel = self._select_list(["t1"], n)
        if k == 0:
            self.classes.add("subquery:in")
            neg = r.choice(["", "NOT "])
            sub = f"SELECT a FROM t2 WHERE {self.bool_expr(['t2'])}"
            return f"SELECT {sel} FROM t1 WHERE t1.a {neg}IN ({sub})", n
        if k == 1:
            self.classes.add("subquery:exists")
            neg = r.choice(["", "NOT "])
            return f"SELECT {sel} FROM t1 WHERE {neg}EXISTS (SELECT 1 FROM t2 WHERE t2.a = t1.a AND t2.e > {r.randint(-10, 10)})", n
        if k == 2:
            self.classes.add("subquery:scalar")
            return f"SELECT {sel}, (SELECT max(e) FROM t2 WHERE t2.a = t1.a) AS s FROM t1", n + 1
        self.classes.add("subquery:derived")
        return f"SELECT c1, count(*) AS n FROM (SELECT {self.int_expr(['t1'])} AS c1 FROM t1 WHERE {self.bool_expr(['t1'])}) AS s GROUP BY c1", 2
