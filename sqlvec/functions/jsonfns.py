"""json / jsonb operators and functions: -> ->> #> #>> @> <@ ? ?| ?& || -, the builders,
jsonb_typeof / array_length / extract_path, to_json(b), jsonb_set, and json(b)_agg.

Values are Arrow strings holding the JSON text (jsonb normalised as PostgreSQL prints
it). Each distinct document is parsed once per call (map_distinct); constant paths and
keys are applied per distinct document, so a column of repeated documents costs little.
json (not jsonb) sub-values are printed in the jsonb style, not with their original spacing.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.core.errors import InvalidParameterValue, InvalidTextRepresentation
from sqlvec.functions.aggregates import AggContext, hash_agg
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import arr, map_distinct

J, JB, TXT, I4 = T.JSON, T.JSONB, T.TEXT, T.INT4
TXTA = T.array_of(T.TEXT)
Impl = Callable[[CallContext, list[Arg]], Arg]
_MISSING = object()


def loads(s: str) -> Any:
    try:
        return json.loads(s, parse_float=Decimal, parse_int=Decimal)
    except ValueError as e:
        raise InvalidTextRepresentation("invalid input syntax for type json", detail=str(e)) from None


dumps = textio.jsonb_dumps


def _get(doc: Any, key: Any) -> Any:
    if isinstance(doc, dict) and isinstance(key, str):
        return doc.get(key, _MISSING)
    if isinstance(doc, list):
        try:
            i = int(key)
        except (TypeError, ValueError):
            return _MISSING
        if isinstance(key, str) and not key.lstrip("-").isdigit():
            return _MISSING
        if -len(doc) <= i < len(doc):
            return doc[i]
    return _MISSING


def as_text(v: Any) -> str | None:
    """The ->> form of a json value: strings unquoted, null as SQL NULL."""
    if v is None or v is _MISSING:
        return None
    if isinstance(v, str):
        return v
    return dumps(v)


def _arrow(text: bool, scalar_element: bool = False) -> Impl:
    """-> / ->>; `scalar_element`: jsonb -> int, where PostgreSQL stores a scalar as a
    one-element array, so element 0 (or -1) of '"abc"'::jsonb is "abc"."""
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def one(s: str, key: Any) -> str | None:
            doc = loads(s)
            if scalar_element and not isinstance(doc, dict | list) and key in (0, -1):
                doc = [doc]
            v = _get(doc, key)
            if v is _MISSING:
                return None
            return as_text(v) if text else dumps(v)
        return map_distinct(one, args, ctx.n, pa.string())
    return impl


def _path(text: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def one(s: str, path: list[str | None]) -> str | None:
            v = loads(s)
            for k in path:
                if k is None:
                    return None
                v = _get(v, k)
                if v is _MISSING:
                    return None
            return as_text(v) if text else dumps(v)
        return map_distinct(one, args, ctx.n, pa.string())
    return impl


def _extract_path(text: bool) -> Impl:
    inner = _path(text)

    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        if len(args) == 1:
            return args[0] if not text else map_distinct(lambda s: as_text(loads(s)), args, ctx.n, pa.string())
        keys = [arr(a, ctx.n) for a in args[1:]]
        if all(isinstance(a, pa.Scalar) for a in args[1:]):
            path = pa.scalar([a.as_py() for a in args[1:]], pa.list_(pa.string()))
        else:
            rows = list(zip(*(k.to_pylist() for k in keys)))
            path = pa.array([list(r) for r in rows], pa.list_(pa.string()))
        return inner(ctx, [args[0], path])
    return impl


def contains(a: Any, b: Any, top: bool = True) -> bool:
    """PostgreSQL's jsonb @> containment."""
    if isinstance(a, dict) and isinstance(b, dict):
        return all(k in a and contains(a[k], v, False) for k, v in b.items())
    if isinstance(a, list) and isinstance(b, list):
        return all(any(contains(x, y, False) for x in a) for y in b)
    if isinstance(a, list) and top and not isinstance(b, list | dict):
        return any(contains(x, b, False) for x in a)
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return False
    return a == b and type(a) is type(b) or (isinstance(a, Decimal) and isinstance(b, Decimal) and a == b)


def _contains(swap: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def one(x: str, y: str) -> bool:
            a, b = loads(x), loads(y)
            return contains(b, a) if swap else contains(a, b)
        return map_distinct(one, args, ctx.n, pa.bool_())
    return impl


def _has_key(mode: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def keys_of(doc: Any) -> set[str]:
            if isinstance(doc, dict):
                return set(doc)
            if isinstance(doc, list):
                return {x for x in doc if isinstance(x, str)}
            return {doc} if isinstance(doc, str) else set()

        def one(s: str, k: Any) -> bool:
            ks = keys_of(loads(s))
            if mode == "one":
                return k in ks
            wanted = [x for x in k if x is not None]
            return any(x in ks for x in wanted) if mode == "any" else all(x in ks for x in wanted)
        return map_distinct(one, args, ctx.n, pa.bool_())
    return impl


def _concat(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(x: str, y: str) -> str:
        a, b = loads(x), loads(y)
        if isinstance(a, dict) and isinstance(b, dict):
            return dumps({**a, **b})
        la = a if isinstance(a, list) else [a]
        lb = b if isinstance(b, list) else [b]
        return dumps(la + lb)
    return map_distinct(one, args, ctx.n, pa.string())


def _delete(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(x: str, k: Any) -> str:
        a = loads(x)
        if isinstance(k, list):
            for key in k:
                a = _delete_one(a, key)
            return dumps(a)
        return dumps(_delete_one(a, k))
    return map_distinct(one, args, ctx.n, pa.string())


def _delete_one(a: Any, k: Any) -> Any:
    if isinstance(a, dict):
        return {kk: v for kk, v in a.items() if kk != k}
    if isinstance(a, list):
        if isinstance(k, int):
            i = k if k >= 0 else len(a) + k
            return [v for j, v in enumerate(a) if j != i]
        return [v for v in a if v != k]
    raise InvalidParameterValue("cannot delete from scalar")


def _path_index(k: str, i: int) -> int:
    try:
        return int(k)
    except ValueError:
        raise InvalidTextRepresentation(
            f'path element at position {i + 1} is not an integer: "{k}"') from None


def _delete_path(ctx: CallContext, args: list[Arg]) -> Arg:
    """jsonb #- text[]: the document without the element at the path (unchanged if absent)."""
    def one(s: str, path: list[str]) -> str:
        doc = loads(s)
        if not isinstance(doc, dict | list):
            raise InvalidParameterValue("cannot delete path in scalar")

        def rm(node: Any, i: int) -> Any:
            k = path[i]
            last = i == len(path) - 1
            if isinstance(node, dict):
                if k not in node:
                    return node
                return {kk: v for kk, v in node.items() if kk != k} if last else {**node, k: rm(node[k], i + 1)}
            if isinstance(node, list):
                idx = _path_index(k, i)
                idx = idx + len(node) if idx < 0 else idx
                if not 0 <= idx < len(node):
                    return node
                return node[:idx] + node[idx + 1:] if last else node[:idx] + [rm(node[idx], i + 1)] + node[idx + 1:]
            return node
        return dumps(rm(doc, 0) if path else doc)
    return map_distinct(one, args, ctx.n, pa.string())


def _jsonb_insert(ctx: CallContext, args: list[Arg]) -> Arg:
    """jsonb_insert(target, path, new [, insert_after]): into an array before (after) the
    element at the path, or a new key of an object (an existing key is an error)."""
    after = args[3] if len(args) > 3 else pa.scalar(False)

    def one(s: str, path: list[str], new: str, insert_after: bool) -> str:
        doc, value = loads(s), loads(new)
        if not isinstance(doc, dict | list):
            raise InvalidParameterValue("cannot set path in scalar")

        def ins(node: Any, i: int) -> Any:
            k = path[i]
            last = i == len(path) - 1
            if isinstance(node, dict):
                if last:
                    if k in node:
                        raise InvalidParameterValue(
                            "cannot replace existing key",
                            hint="Try using the function jsonb_set to replace key value.")
                    return {**node, k: value}
                return {**node, k: ins(node[k], i + 1)} if k in node else node
            if isinstance(node, list):
                idx = _path_index(k, i)
                if last:
                    pos = idx + len(node) if idx < 0 else idx
                    pos = max(0, min(pos + (1 if insert_after else 0), len(node)))
                    return node[:pos] + [value] + node[pos:]
                idx = idx + len(node) if idx < 0 else idx
                if 0 <= idx < len(node):
                    return node[:idx] + [ins(node[idx], i + 1)] + node[idx + 1:]
            return node
        return dumps(ins(doc, 0) if path else doc)
    return map_distinct(one, [args[0], args[1], args[2], after], ctx.n, pa.string())


class Verbatim(str):
    """A json/jsonb value inside a json (not jsonb) result: PostgreSQL copies its text as
    is (row_to_json of a jsonb column keeps '{"k": [1, 2]}' with its spaces)."""


def to_json_values(a: Arg, t: T.SqlType, n: int, *, verbatim: bool = False) -> list[Any]:
    """Python json values of an Arrow column of SQL type t (to_jsonb semantics; `verbatim`:
    json/jsonb values as Verbatim text, for the json-building functions)."""
    x = arr(a, n)
    if t.short in ("json", "jsonb"):
        if verbatim:
            return [None if v is None else Verbatim(v) for v in x.to_pylist()]
        return [None if v is None else loads(v) for v in x.to_pylist()]
    if t.short in ("int2", "int4", "int8", "numeric", "oid"):
        if pa.types.is_decimal(x.type):
            txt = textio.format_text(x, t).to_pylist()
            return [None if v is None else Decimal(v) for v in txt]
        return [None if v is None else Decimal(v) for v in x.to_pylist()]
    if t.short in ("float4", "float8"):
        txt = textio.format_text(x, t).to_pylist()
        return [None if v is None else (Decimal(v) if v not in ("NaN", "Infinity", "-Infinity") else v)
                for v in txt]
    if t.short == "bool":
        return x.to_pylist()
    if t.fields and pa.types.is_struct(x.type):  # a record: an object of its columns
        cols = [to_json_values(x.field(i), ft, len(x), verbatim=verbatim) for i, (_, ft) in enumerate(t.fields)]
        names = [name for name, _ in t.fields]
        valid = x.is_valid().to_pylist()
        return [dict(zip(names, vals)) if ok else None for ok, *vals in zip(valid, *cols)]
    if t.is_array:
        assert t.element is not None
        flat = x.flatten() if len(x) else x.values[:0]
        vals = to_json_values(flat, t.element, len(flat), verbatim=verbatim)
        lens = pc.list_value_length(x).to_pylist()
        out, pos = [], 0
        for ln in lens:
            if ln is None:
                out.append(None)
                continue
            out.append(vals[pos:pos + ln])
            pos += ln
        return out
    if t.short in ("timestamp", "timestamptz"):
        txt = textio.format_text(x, t).to_pylist()
        return [None if v is None else _iso(v, t.short == "timestamptz") for v in txt]
    if t.short in ("text", "varchar", "bpchar", "name", "char", "unknown"):
        return x.to_pylist()
    return textio.format_text(x, t).to_pylist()


def _iso(v: str, tz: bool) -> str:
    s = v.replace(" ", "T", 1)
    if tz and s.endswith("+00"):
        s = s[:-3] + "+00:00"
    return s


def _to_json(jsonb: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        t = ctx.arg_types[0]
        if ctx.input_types and ctx.input_types[0].fields:  # a record: its columns' types
            t = ctx.input_types[0]
        vals = to_json_values(args[0], t, ctx.n, verbatim=not jsonb)
        dump = dumps if jsonb else _dump_compact
        out = [None if v is None else dump(v) for v in vals]
        return pa.array(out, pa.string())
    return impl


def _dump_compact(v: Any) -> str:
    """to_json / row_to_json style: no spaces."""
    if isinstance(v, Verbatim):
        return str(v)
    if isinstance(v, list):
        return "[" + ",".join(_dump_compact(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_dump_compact(x)}" for k, x in v.items()) + "}"
    return dumps(v)


def _dump_builder(v: Any) -> str:
    """json_build_object / json_build_array style: '{"a" : 1}', '[1, 2]' at the top level."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} : {_dump_compact(x)}"
                               for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_dump_compact(x) for x in v) + "]"
    return dumps(v)


def _build(kind: str, jsonb: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        cols = [to_json_values(a, t, ctx.n, verbatim=not jsonb) for a, t in zip(args, ctx.arg_types)]
        dump = dumps if jsonb else _dump_builder
        out = []
        if kind == "object" and len(cols) % 2:
            raise InvalidParameterValue("argument list must have even number of elements",
                                        hint="The arguments of json_build_object() must consist "
                                             "of alternating keys and values.")
        for r in range(ctx.n):
            row = [c[r] for c in cols]
            if kind == "array":
                out.append(dump(row))
                continue
            obj: dict[str, Any] = {}
            for i in range(0, len(row), 2):
                k = row[i]
                if k is None:
                    raise InvalidParameterValue(f"argument {i + 1}: key must not be null")
                obj[k if isinstance(k, str) else dumps(k)] = row[i + 1]
            out.append(dump(obj))
        return pa.array(out, pa.string())
    return impl


def _typeof(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(s: str) -> str:
        v = loads(s)
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, Decimal):
            return "number"
        return {str: "string", list: "array", dict: "object"}[type(v)]
    return map_distinct(one, args, ctx.n, pa.string())


def _array_length(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(s: str) -> int:
        v = loads(s)
        if not isinstance(v, list):
            raise InvalidParameterValue("cannot get array length of a non-array"
                                        if not isinstance(v, dict) else
                                        "cannot get array length of a non-array")
        return len(v)
    return map_distinct(one, args, ctx.n, pa.int32())


def _jsonb_set(ctx: CallContext, args: list[Arg]) -> Arg:
    create = args[3] if len(args) > 3 else pa.scalar(True)

    def one(s: str, path: list[str], new: str, create_missing: bool) -> str:
        doc = loads(s)
        value = loads(new)
        if not path:
            return dumps(doc)

        def setp(node: Any, i: int) -> Any:
            k = path[i]
            last = i == len(path) - 1
            if isinstance(node, dict):
                if last:
                    if k in node or create_missing:
                        return {**node, k: value}
                    return node
                if k in node:
                    return {**node, k: setp(node[k], i + 1)}
                return node
            if isinstance(node, list):
                try:
                    idx = int(k)
                except ValueError:
                    raise InvalidTextRepresentation(
                        f'path element at position {i + 1} is not an integer: "{k}"') from None
                if idx < 0:
                    idx += len(node)
                if 0 <= idx < len(node):
                    copy = list(node)
                    copy[idx] = value if last else setp(node[idx], i + 1)
                    return copy
                if last and create_missing:
                    return [value, *node] if idx < 0 else [*node, value]
                return node
            return node
        return dumps(setp(doc, 0))
    return map_distinct(one, [args[0], args[1], args[2], create], ctx.n, pa.string())


def _strip_nulls(ctx: CallContext, args: list[Arg]) -> Arg:
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    return map_distinct(lambda s: dumps(strip(loads(s))), args, ctx.n, pa.string())


def _pretty(ctx: CallContext, args: list[Arg]) -> Arg:
    def pretty(v: Any, ind: int = 0) -> str:
        pad = "    " * (ind + 1)
        if isinstance(v, dict) and v:
            keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
            body = ",\n".join(f"{pad}{json.dumps(k, ensure_ascii=False)}: {pretty(v[k], ind + 1)}" for k in keys)
            return "{\n" + body + "\n" + "    " * ind + "}"
        if isinstance(v, list) and v:
            body = ",\n".join(pad + pretty(x, ind + 1) for x in v)
            return "[\n" + body + "\n" + "    " * ind + "]"
        return dumps(v)
    return map_distinct(lambda s: pretty(loads(s)), args, ctx.n, pa.string())


# ---- aggregates ---------------------------------------------------------------------


def _json_agg(jsonb: bool) -> Callable[[AggContext, list[pa.Array], np.ndarray, int], pa.Array]:
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        t = ctx.arg_types[0]
        vals = to_json_values(args[0], t, len(args[0]), verbatim=not jsonb)
        enc = pa.array([dumps(v) if jsonb else _dump_compact(v) for v in vals], pa.string())
        lists = hash_agg(enc, gid, n, "list")
        # json_agg puts a newline before each array or row element after the first
        body = pc.binary_join(lists, ", \n " if not jsonb and (t.is_array or t.fields) else ", ")
        return pc.binary_join_element_wise("[", body, "]", "")
    return impl


def _object_agg(jsonb: bool) -> Callable[[AggContext, list[pa.Array], np.ndarray, int], pa.Array]:
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        keys = to_json_values(args[0], ctx.arg_types[0], len(args[0]))
        vals = to_json_values(args[1], ctx.arg_types[1], len(args[1]))
        groups: dict[int, dict[str, Any]] = {}
        for g, k, v in zip(gid.tolist(), keys, vals):  # per row: building one document per group
            if k is None:
                raise InvalidParameterValue("field name must not be null")
            groups.setdefault(g, {})[k if isinstance(k, str) else dumps(k)] = v
        out = []
        for g in range(n):
            d = groups.get(g)
            if d is None:
                out.append(None)
            elif jsonb:
                out.append(dumps(d))
            else:
                out.append("{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} : {_dump_compact(v)}"
                                            for k, v in d.items()) + " }")
        return pa.array(out, pa.string())
    return impl


def register(fr: FunctionRegistry) -> None:
    """json/jsonb operators, functions and aggregates."""
    add = fr.add
    for t in (J, JB):
        add("->", [t, TXT], t, _arrow(False))
        add("->", [t, I4], t, _arrow(False, t is JB))
        add("->>", [t, TXT], TXT, _arrow(True))
        add("->>", [t, I4], TXT, _arrow(True, t is JB))
        add("#>", [t, TXTA], t, _path(False))
        add("#>>", [t, TXTA], TXT, _path(True))
        pre = "jsonb" if t is JB else "json"
        add(f"{pre}_extract_path", [t, TXT], t, _extract_path(False), variadic=True)
        add(f"{pre}_extract_path_text", [t, TXT], TXT, _extract_path(True), variadic=True)
        add(f"{pre}_typeof", [t], TXT, _typeof)
        add(f"{pre}_array_length", [t], I4, _array_length)
        add(f"{pre}_strip_nulls", [t], t, _strip_nulls)
    add("@>", [JB, JB], T.BOOL, _contains(False))
    add("<@", [JB, JB], T.BOOL, _contains(True))
    add("?", [JB, TXT], T.BOOL, _has_key("one"))
    add("?|", [JB, TXTA], T.BOOL, _has_key("any"))
    add("?&", [JB, TXTA], T.BOOL, _has_key("all"))
    add("jsonb_exists", [JB, TXT], T.BOOL, _has_key("one"))  # the functions behind ? ?| ?&
    add("jsonb_exists_any", [JB, TXTA], T.BOOL, _has_key("any"))
    add("jsonb_exists_all", [JB, TXTA], T.BOOL, _has_key("all"))
    add("||", [JB, JB], JB, _concat)
    add("-", [JB, TXT], JB, _delete)
    add("-", [JB, I4], JB, _delete)
    add("-", [JB, TXTA], JB, _delete)
    add("#-", [JB, TXTA], JB, _delete_path)
    add("jsonb_insert", [JB, TXTA, JB, T.BOOL], JB, _jsonb_insert, min_args=3)
    add("to_json", [T.ANYELEMENT], J, _to_json(False))
    add("array_to_json", [T.ANYARRAY], J, _to_json(False))
    add("row_to_json", [T.RECORD], J, _to_json(False))
    add("to_jsonb", [T.ANYELEMENT], JB, _to_json(True))
    add("json_build_object", [T.ANY], J, _build("object", False), variadic=True, min_args=0,
        strict=False)
    add("jsonb_build_object", [T.ANY], JB, _build("object", True), variadic=True, min_args=0,
        strict=False)
    add("json_build_array", [T.ANY], J, _build("array", False), variadic=True, min_args=0,
        strict=False)
    add("jsonb_build_array", [T.ANY], JB, _build("array", True), variadic=True, min_args=0,
        strict=False)
    add("jsonb_set", [JB, TXTA, JB, T.BOOL], JB, _jsonb_set, min_args=3)
    add("jsonb_pretty", [JB], TXT, _pretty)
    fr.add_aggregate("json_agg", [T.ANYELEMENT], J, _json_agg(False))
    fr.add_aggregate("jsonb_agg", [T.ANYELEMENT], JB, _json_agg(True))
    fr.add_aggregate("json_object_agg", [T.ANY, T.ANY], J, _object_agg(False))
    fr.add_aggregate("jsonb_object_agg", [T.ANY, T.ANY], JB, _object_agg(True))


__all__ = ["contains", "loads", "register", "to_json_values", "_dt"]
