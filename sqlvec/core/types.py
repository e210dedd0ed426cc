"""The SQL type system: each SQL type has a PostgreSQL name and OID and an Arrow type.

A column's values live in Arrow arrays of `SqlType.arrow`; `typmod` carries the
modifier PostgreSQL would (varchar(n) -> n + 4, numeric(p, s) -> ((p << 16) | s) + 4,
vector(n) -> n; -1 when absent). Types are values: compare them with ==, build
parametrised ones with `with_typmod`, arrays with `array_of`.

    >>> INT4.name, INT4.oid, INT4.arrow
    ('integer', 23, DataType(int32))
    >>> array_of(INT4).oid
    1007
    >>> array_of(array_of(INT4)).display(), array_of(array_of(INT4)).ndims
    ('integer[]', 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import pyarrow as pa

# Unconstrained numeric is stored as decimal128 with this precision and scale.
NUMERIC_PRECISION = 38
NUMERIC_DEFAULT_SCALE = 16


class TypeCodec(Protocol):
    """Text I/O and typmod-dependent storage an extension type brings (e.g. pgvector's)."""

    def arrow_for_typmod(self, typmod: int) -> pa.DataType: ...

    def format_text(self, a: pa.Array, t: SqlType) -> pa.Array: ...

    def parse_text(self, a: pa.Array, t: SqlType) -> pa.Array: ...


@dataclass(frozen=True)
class SqlType:
    """A SQL type as clients see it (name, OID, typmod) and as storage holds it (arrow)."""

    name: str  # format_type() spelling without modifier: 'integer', 'character varying'
    oid: int
    arrow: pa.DataType = field(compare=False)
    category: str  # PostgreSQL typcategory: B bool, N numeric, S string, D datetime, ...
    typlen: int = -1  # pg_type.typlen: fixed size in bytes, -1 varlena
    typmod: int = -1
    element: SqlType | None = None  # for arrays
    array_oid: int = 0  # OID of this type's array type (0: none)
    preferred: bool = False  # pg_type.typispreferred within its category
    short: str = ""  # pg_type.typname: 'int4', 'varchar', '_int4'
    # extension types (vector, halfvec, ...): text I/O and Arrow type per typmod; None for
    # built-ins, which core/textio handles itself
    codec: Any = field(default=None, compare=False, repr=False)
    # for an anonymous record (a whole-row reference `t`): its (name, type) columns; the
    # Arrow type is then a struct of theirs
    fields: tuple[tuple[str, SqlType], ...] = field(default=(), compare=False, repr=False)

    @property
    def is_array(self) -> bool:
        return self.element is not None

    @property
    def ndims(self) -> int:
        """Array dimensions this type's Arrow lists nest (0 for a scalar type). PostgreSQL
        calls every integer array integer[]; a value built with two dimensions here has a
        list<list<int32>> Arrow type and an element that is itself integer[]."""
        return 0 if self.element is None else 1 + self.element.ndims

    @property
    def base_element(self) -> SqlType:
        """The scalar element type of an array of any dimensions (self for a scalar)."""
        return self if self.element is None else self.element.base_element

    def with_typmod(self, typmod: int) -> SqlType:
        """The same type with a modifier, e.g. VARCHAR.with_typmod(10 + 4) is varchar(10)."""
        return replace(self, typmod=typmod, arrow=_arrow_for_typmod(self, typmod))

    def display(self) -> str:
        """format_type(oid, typmod): 'character varying(10)', 'numeric(10,2)', 'integer[]'."""
        if self.element is not None:
            return self.element.display() + ("[]" if not self.element.is_array else "")
        mod = modifier_text(self)
        if self.name.startswith(("timestamp", "time ")) or self.name in ("time",):
            # PostgreSQL puts the precision before 'with/without time zone'
            head, _, tail = self.name.partition(" with")
            return f"{head}{mod}" + (f" with{tail}" if tail else "")
        return self.name + mod

    def display_bare(self) -> str:
        """format_type_be: the name without a typmod, as PostgreSQL's error messages print
        it ('character varying', 'vector', 'bit varying[]')."""
        if self.element is not None:
            return self.element.display_bare() + ("[]" if not self.element.is_array else "")
        return self.display() if self.typmod < 0 else replace(self, typmod=-1).display()

    def __str__(self) -> str:
        return self.display()


def modifier_text(t: SqlType) -> str:
    """The '(…)' part of a type name from its typmod."""
    if t.typmod < 0:
        return ""
    if t.short in ("varchar", "bpchar", "bit", "varbit"):
        return f"({t.typmod - 4})" if t.short in ("varchar", "bpchar") else f"({t.typmod})"
    if t.short == "numeric":
        mod = t.typmod - 4
        return f"({(mod >> 16) & 0xFFFF},{mod & 0xFFFF})"
    if t.short in ("timestamp", "timestamptz", "time", "timetz", "interval"):
        return f"({t.typmod})"
    return f"({t.typmod})"


def numeric_precision_scale(t: SqlType) -> tuple[int, int] | None:
    """(precision, scale) of numeric(p, s), None for unconstrained numeric."""
    if t.short != "numeric" or t.typmod < 0:
        return None
    mod = t.typmod - 4
    return (mod >> 16) & 0xFFFF, mod & 0xFFFF


def numeric_typmod(precision: int, scale: int = 0) -> int:
    return ((precision << 16) | scale) + 4


NUMERIC_MAX_ARROW_PRECISION = 76  # decimal256; PostgreSQL allows numeric(1000, s)


def numeric_arrow(p: int, s: int) -> pa.DataType:
    """Arrow type of numeric(p, s): decimal128 up to 38 digits, decimal256 up to 76; wider
    typmods (PostgreSQL allows 1000) hold at most 76 digits (22003 beyond)."""
    p = max(p, 1)
    if p <= 38:
        return pa.decimal128(p, s)
    p = min(p, NUMERIC_MAX_ARROW_PRECISION)
    return pa.decimal256(p, min(s, p))


def _arrow_for_typmod(t: SqlType, typmod: int) -> pa.DataType:
    if t.codec is not None:
        return t.codec.arrow_for_typmod(typmod)
    if t.short == "numeric" and typmod >= 0:
        mod = typmod - 4
        p, s = (mod >> 16) & 0xFFFF, mod & 0xFFFF
        return numeric_arrow(p, s)
    return t.arrow


def _t(name, oid, arrow, category, typlen, short, array_oid, preferred=False) -> SqlType:
    return SqlType(
        name=name, oid=oid, arrow=arrow, category=category, typlen=typlen,
        short=short, array_oid=array_oid, preferred=preferred,
    )


BOOL = _t("boolean", 16, pa.bool_(), "B", 1, "bool", 1000, preferred=True)
BYTEA = _t("bytea", 17, pa.binary(), "U", -1, "bytea", 1001)
CHAR = _t('"char"', 18, pa.string(), "Z", 1, "char", 1002)
NAME = _t("name", 19, pa.string(), "S", 64, "name", 1003)
INT8 = _t("bigint", 20, pa.int64(), "N", 8, "int8", 1016)
INT2 = _t("smallint", 21, pa.int16(), "N", 2, "int2", 1005)
INT4 = _t("integer", 23, pa.int32(), "N", 4, "int4", 1007)
REGPROC = _t("regproc", 24, pa.uint32(), "N", 4, "regproc", 1008)
TEXT = _t("text", 25, pa.string(), "S", -1, "text", 1009, preferred=True)
OID = _t("oid", 26, pa.uint32(), "N", 4, "oid", 1028, preferred=True)
XID = _t("xid", 28, pa.uint32(), "U", 4, "xid", 1011)
JSON = _t("json", 114, pa.string(), "U", -1, "json", 199)
FLOAT4 = _t("real", 700, pa.float32(), "N", 4, "float4", 1021)
FLOAT8 = _t("double precision", 701, pa.float64(), "N", 8, "float8", 1022, preferred=True)
UNKNOWN = _t("unknown", 705, pa.string(), "X", -2, "unknown", 0)
BPCHAR = _t("character", 1042, pa.string(), "S", -1, "bpchar", 1014)
VARCHAR = _t("character varying", 1043, pa.string(), "S", -1, "varchar", 1015)
DATE = _t("date", 1082, pa.date32(), "D", 4, "date", 1182)
TIME = _t("time without time zone", 1083, pa.time64("us"), "D", 8, "time", 1183)
TIMESTAMP = _t("timestamp without time zone", 1114, pa.timestamp("us"), "D", 8, "timestamp", 1115)
TIMESTAMPTZ = _t(
    "timestamp with time zone", 1184, pa.timestamp("us", tz="UTC"), "D", 8, "timestamptz", 1185,
    preferred=True,
)
INTERVAL = _t("interval", 1186, pa.month_day_nano_interval(), "T", 16, "interval", 1187, preferred=True)
TIMETZ = _t("time with time zone", 1266, pa.string(), "D", 12, "timetz", 1270)
BIT = _t("bit", 1560, pa.binary(), "V", -1, "bit", 1561)
VARBIT = _t("bit varying", 1562, pa.binary(), "V", -1, "varbit", 1563, preferred=True)
def _numeric_text_arrow() -> pa.DataType:
    from sqlvec.core.textio_numeric import NUMERIC_TEXT_ARROW

    return NUMERIC_TEXT_ARROW


NUMERIC = _t(
    "numeric", 1700, pa.decimal128(NUMERIC_PRECISION, NUMERIC_DEFAULT_SCALE), "N", -1, "numeric", 1231
)
# unconstrained numeric held as PostgreSQL's text of each value (core/textio_numeric): table
# columns and result columns whose values keep their own display scale, NaN and Infinity
NUMERIC_TEXT = replace(NUMERIC, arrow=_numeric_text_arrow())
REGCLASS = _t("regclass", 2205, pa.uint32(), "N", 4, "regclass", 2210)
REGTYPE = _t("regtype", 2206, pa.uint32(), "N", 4, "regtype", 2211)
RECORD = _t("record", 2249, pa.string(), "P", -1, "record", 2287)
VOID = _t("void", 2278, pa.string(), "P", 4, "void", 0)  # its one value: ''
ANY = _t("any", 2276, pa.null(), "P", 4, "any", 0)
ANYELEMENT = _t("anyelement", 2283, pa.null(), "P", 4, "anyelement", 0)
ANYARRAY = _t("anyarray", 2277, pa.null(), "P", -1, "anyarray", 0)
UUID = _t("uuid", 2950, pa.binary(16), "U", 16, "uuid", 2951)
JSONB = _t("jsonb", 3802, pa.string(), "U", -1, "jsonb", 3807)
# held as its text, as PostgreSQL prints it (functions/jsonpath.py gives it its text I/O)
JSONPATH = _t("jsonpath", 4072, pa.string(), "U", -1, "jsonpath", 4073)
REGNAMESPACE = _t("regnamespace", 4089, pa.uint32(), "N", 4, "regnamespace", 4090)
REGROLE = _t("regrole", 4096, pa.uint32(), "N", 4, "regrole", 4097)
INT2VECTOR = _t("int2vector", 22, pa.list_(pa.int16()), "A", -1, "int2vector", 1006)
OIDVECTOR = _t("oidvector", 30, pa.list_(pa.uint32()), "A", -1, "oidvector", 1013)
PG_NODE_TREE = _t("pg_node_tree", 194, pa.string(), "S", -1, "pg_node_tree", 0)
ACLITEM = _t("aclitem", 1033, pa.string(), "U", 12, "aclitem", 1034)
# pseudo-types clients name in catalog queries ('trigger'::regtype, typinput's cstring)
CSTRING = _t("cstring", 2275, pa.string(), "P", -2, "cstring", 1263)
TRIGGER = _t("trigger", 2279, pa.null(), "P", 4, "trigger", 0)
INTERNAL = _t("internal", 2281, pa.null(), "P", 8, "internal", 0)
EVENT_TRIGGER = _t("event_trigger", 3838, pa.null(), "P", 4, "event_trigger", 0)


def void_values(n: int) -> pa.Array:
    """n results of a function returning void: PostgreSQL's void value is not NULL, its
    text and binary forms are empty."""
    return pa.array([""] * n, pa.string())


BASE_TYPES: tuple[SqlType, ...] = (
    BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, REGPROC, TEXT, OID, XID, JSON, FLOAT4, FLOAT8,
    UNKNOWN, BPCHAR, VARCHAR, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, TIMETZ, BIT, VARBIT,
    NUMERIC, REGCLASS, REGTYPE, RECORD, VOID, ANY, ANYELEMENT, ANYARRAY, UUID, JSONB,
    REGNAMESPACE, REGROLE, INT2VECTOR, OIDVECTOR, PG_NODE_TREE, ACLITEM, CSTRING, TRIGGER,
    INTERNAL, EVENT_TRIGGER,
)


def array_of(elem: SqlType) -> SqlType:
    """The one-dimensional array type of `elem` (Arrow list of the element's arrow type);
    of an array type: the same SQL type with one more dimension (nested Arrow lists)."""
    if elem.is_array:
        return replace(elem, arrow=pa.list_(elem.arrow), element=elem)
    if not elem.array_oid:
        raise ValueError(f"type {elem.name} has no array type")
    return SqlType(
        name=elem.name + "[]", oid=elem.array_oid, arrow=pa.list_(elem.arrow), category="A",
        typlen=-1, typmod=elem.typmod, element=elem, short="_" + elem.short,
    )


def record_of(fields: tuple[tuple[str, SqlType], ...]) -> SqlType:
    """The anonymous record type of a row with these columns (an Arrow struct).

        >>> record_of((("a", INT4),)).arrow
        StructType(struct<a: int32>)
    """
    return replace(RECORD, arrow=pa.struct([pa.field(n, t.arrow) for n, t in fields]), fields=fields)


class TypeRegistry:
    """SQL types by OID and by every name PostgreSQL accepts for them. Owned by a Database."""

    def __init__(self) -> None:
        self._by_oid: dict[int, SqlType] = {}
        self._by_name: dict[str, SqlType] = {}

    def add(self, t: SqlType, *aliases: str) -> None:
        self._by_oid[t.oid] = t
        for n in (t.name, t.short, *aliases):
            if n:
                self._by_name[n.lower()] = t
        if t.array_oid and t.category not in ("P", "X"):
            arr = array_of(t)
            self._by_oid[arr.oid] = arr
            self._by_name[arr.short] = arr

    def by_oid(self, oid: int) -> SqlType | None:
        return self._by_oid.get(oid)

    def by_name(self, name: str) -> SqlType | None:
        """Look up a type name without modifier or array brackets ('int', 'varchar')."""
        return self._by_name.get(name.lower().strip())

    def all(self) -> list[SqlType]:
        return list(self._by_oid.values())


ALIASES: dict[str, tuple[str, ...]] = {
    "boolean": ("bool",),
    "bigint": ("int8", "bigserial", "serial8"),
    "smallint": ("int2", "smallserial", "serial2"),
    "integer": ("int", "int4", "serial", "serial4"),
    "real": ("float4",),
    "double precision": ("float8", "float", "double"),
    "character varying": ("varchar",),
    "character": ("char", "bpchar"),
    "numeric": ("decimal",),
    "timestamp without time zone": ("timestamp",),
    "timestamp with time zone": ("timestamptz",),
    "time without time zone": ("time",),
    "time with time zone": ("timetz",),
    "bit varying": ("varbit",),
    '"char"': ("char",),
}


def register(types: TypeRegistry) -> None:
    """Fill a registry with the built-in scalar types and their arrays."""
    for t in BASE_TYPES:
        aliases = ALIASES.get(t.name, ())
        if t is CHAR:
            aliases = ()  # bare 'char' means character(1); "char" is only reachable quoted
        types.add(t, *aliases)
    types.add(BPCHAR, "char", "character", "bpchar")  # keep 'char' -> bpchar


def default_types() -> TypeRegistry:
    reg = TypeRegistry()
    register(reg)
    return reg
