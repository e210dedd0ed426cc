"""SQL/JSON path (a practical subset of PostgreSQL's jsonpath) and jsonb_path_query,
jsonb_path_query_array, jsonb_path_query_first, jsonb_path_exists, jsonb_path_match and
the @? / @@ operators.

Supported: lax / strict mode; $, @, $var (from the vars object); .key, ."key", .*, [*],
[n], [n to m], [last], [last - n], [a, b]; filters ? (...) with == != <> < <= > >=,
&&, ||, !, exists (...), like_regex "..." [flag "i"], starts with "...", (...) is unknown;
arithmetic + - * / % and unary -; methods .type() .size() .double() .abs() .floor()
.ceiling(). Not supported: .keyvalue() (0A000), .** and .datetime() (42601 at parse).

A path is parsed once per distinct path text; documents are evaluated once per distinct
(document, path, vars) through map_distinct, as the other json functions.

The jsonpath type (JSONPATH, JsonpathCodec) holds a path as the text PostgreSQL prints for
it (`'$.a == 1'::jsonpath` is `($."a" == 1)`: path_text), checked on input (@ only in a
filter, last only in a subscript); the functions take it or text.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import (
    InternalError,
    InvalidSqlJsonSubscript,
    NonNumericSqlJsonItem,
    SingletonSqlJsonItemRequired,
    SqlError,
    SqlJsonArrayNotFound,
    SqlJsonMemberNotFound,
    SqlJsonObjectNotFound,
    SyntaxError_,
    UndefinedObject,
)
from sqlvec.functions.jsonfns import dumps, loads
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import map_distinct

_TOKEN = re.compile(r"""\s*(?:
    (?P<num>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<var>\$[A-Za-z_][A-Za-z_0-9]*|\$"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<>|<=|>=|&&|\|\||\.\*\*|\.\*|[$@.\[\]()?!<>+\-*/%,])
  | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
)""", re.X)


def _syntax(text: str, near: str) -> SqlError:
    return SyntaxError_(f'syntax error at or near "{near}" of jsonpath input' if near else
                        "syntax error at end of jsonpath input")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _syntax(text, text[pos:].strip()[:1])
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _unquote(s: str) -> str:
    import json

    return json.loads(s)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        t = self.peek()
        self.i += 1
        return t

    def expect(self, v: str) -> None:
        t = self.take()
        if t[1] != v:
            raise _syntax(self.text, t[1])

    def word(self, w: str) -> bool:
        t = self.peek()
        return t[0] == "word" and t[1].lower() == w

    def parse(self) -> tuple[bool, Any]:
        strict = False
        if self.word("strict") or self.word("lax"):
            strict = self.take()[1].lower() == "strict"
        node = self.expr()
        if self.peek()[0] != "end":
            raise _syntax(self.text, self.peek()[1])
        _check_scope(node, False, False)
        return strict, node

    def expr(self) -> Any:
        left = self.and_()
        while self.peek()[1] == "||":
            self.take()
            left = ("or", left, self.and_())
        return left

    def and_(self) -> Any:
        left = self.not_()
        while self.peek()[1] == "&&":
            self.take()
            left = ("and", left, self.not_())
        return left

    def not_(self) -> Any:
        if self.peek()[1] == "!":
            self.take()
            self.expect("(")
            inner = self.expr()
            self.expect(")")
            return ("not", inner)
        return self.pred()

    def pred(self) -> Any:
        if self.word("exists") and self.peek(1)[1] == "(":
            self.take()
            self.take()
            inner = self.expr()
            self.expect(")")
            return ("exists", inner)
        left = self.additive()
        t = self.peek()
        if t[1] in ("==", "!=", "<>", "<", "<=", ">", ">="):
            self.take()
            return ("cmp", "!=" if t[1] == "<>" else t[1], left, self.additive())
        if self.word("like_regex"):
            self.take()
            pat = self.take()
            if pat[0] != "str":
                raise _syntax(self.text, pat[1])
            flags = ""
            if self.word("flag"):
                self.take()
                flags = _unquote(self.take()[1])
            rx = re.compile(_unquote(pat[1]), re.I if "i" in flags else 0)
            return ("like_regex", left, rx, _unquote(pat[1]), flags)
        if self.word("starts") and self.peek(1)[0] == "word" and self.peek(1)[1].lower() == "with":
            self.take()
            self.take()
            return ("starts", left, self.primary())
        if self.word("is") and self.peek(1)[1].lower() == "unknown":
            self.take()
            self.take()
            return ("unknown", left)
        return left

    def additive(self) -> Any:
        left = self.mult()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            left = ("arith", op, left, self.mult())
        return left

    def mult(self) -> Any:
        left = self.unary()
        while self.peek()[1] in ("*", "/", "%"):
            op = self.take()[1]
            left = ("arith", op, left, self.unary())
        return left

    def unary(self) -> Any:
        if self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            inner = self.unary()
            return ("neg", inner) if op == "-" else inner
        return self.chain(self.primary())

    def primary(self) -> Any:
        kind, v = self.take()
        if v == "$":
            return ("root",)
        if v == "@":
            return ("current",)
        if kind == "var":
            return ("var", _unquote(v[1:]) if v[1:2] == '"' else v[1:])
        if kind == "num":
            return ("lit", Decimal(v))
        if kind == "str":
            return ("lit", _unquote(v))
        if kind == "word" and v.lower() in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[v.lower()])
        if kind == "word" and v.lower() == "last":
            return ("last",)
        if v == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        raise _syntax(self.text, v)

    def chain(self, node: Any) -> Any:
        steps: list[Any] = []
        while True:
            kind, v = self.peek()
            if v == ".*":
                self.take()
                steps.append(("anykey",))
            elif v == ".**":
                raise _syntax(self.text, v)
            elif v == ".":
                self.take()
                k, name = self.take()
                if k == "str":
                    steps.append(("key", _unquote(name)))
                elif k == "word" and self.peek()[1] == "(":
                    self.take()
                    self.expect(")")
                    if name.lower() not in _METHODS:
                        raise _syntax(self.text, name)
                    steps.append(("method", name.lower()))
                elif k in ("word", "var"):
                    steps.append(("key", name))
                else:
                    raise _syntax(self.text, name)
            elif v == "[":
                self.take()
                if self.peek()[1] == "*":
                    self.take()
                    self.expect("]")
                    steps.append(("anyelem",))
                    continue
                subs = []
                while True:
                    lo = self.additive()
                    hi = None
                    if self.word("to"):
                        self.take()
                        hi = self.additive()
                    subs.append((lo, hi))
                    if self.peek()[1] == ",":
                        self.take()
                        continue
                    self.expect("]")
                    break
                steps.append(("index", subs))
            elif v == "?":
                self.take()
                self.expect("(")
                cond = self.expr()
                self.expect(")")
                steps.append(("filter", cond))
            else:
                break
        return ("chain", node, steps) if steps else node


def _check_scope(node: Any, in_filter: bool, in_subscript: bool) -> None:
    """@ only inside a filter, last only inside an array subscript (as PostgreSQL's)."""
    kind = node[0]
    if kind == "current" and not in_filter:
        raise SyntaxError_("@ is not allowed in root expressions")
    if kind == "last" and not in_subscript:
        raise SyntaxError_("LAST is allowed only in array subscripts")
    if kind == "lit":
        return
    if kind == "chain":
        _check_scope(node[1], in_filter, in_subscript)
        for step in node[2]:
            if step[0] == "filter":
                _check_scope(step[1], True, in_subscript)
            elif step[0] == "index":
                for lo, hi in step[1]:
                    for sub in (lo, hi) if hi is not None else (lo,):
                        _check_scope(sub, in_filter, True)
        return
    for part in node[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            _check_scope(part, in_filter, in_subscript)


_METHODS = ("type", "size", "double", "abs", "floor", "ceiling", "keyvalue")


@lru_cache(maxsize=256)
def parse_path(text: str) -> tuple[bool, Any]:
    """(strict, tree) of a jsonpath text (cached per text)."""
    return _Parser(text).parse()


# -- the jsonpath type: its text as PostgreSQL prints it --------------------------------
_PRIORITY = {"or": 0, "and": 1, "cmp": 2, "starts": 2, "like_regex": 2, "+": 3, "-": 3,
             "*": 4, "/": 4, "%": 4, "neg": 5}


def _prio(node: Any) -> int:
    if node[0] == "arith":
        return _PRIORITY[node[1]]
    return _PRIORITY.get(node[0], 6)


def _json_str(v: str) -> str:
    import json

    return json.dumps(v, ensure_ascii=False)


def _show(node: Any, brackets: bool) -> str:
    """One path item as PostgreSQL's printJsonPathItem writes it: a binary or unary
    operation in parentheses where asked (the top, or an operand that binds no looser than
    its operator), keys and variables quoted, numbers as numeric prints them."""
    kind = node[0]
    if kind in ("or", "and", "cmp", "arith", "starts"):
        op = {"or": "||", "and": "&&", "starts": "starts with"}.get(kind) or node[1]
        left, right = (node[1], node[2]) if kind in ("or", "and", "starts") else (node[2], node[3])
        p = _prio(node)
        body = f"{_show(left, _prio(left) <= p)} {op} {_show(right, _prio(right) <= p)}"
        return f"({body})" if brackets else body
    if kind == "like_regex":
        body = f"{_show(node[1], _prio(node[1]) <= 2)} like_regex {_json_str(node[3])}"
        body += f' flag "{node[4]}"' if node[4] else ""
        return f"({body})" if brackets else body
    if kind == "neg":
        body = f"-{_show(node[1], _prio(node[1]) <= 5)}"
        return f"({body})" if brackets else body
    if kind == "not":
        return f"!({_show(node[1], False)})"
    if kind == "unknown":
        return f"({_show(node[1], False)}) is unknown"
    if kind == "exists":
        return f"exists ({_show(node[1], False)})"
    if kind == "root":
        return "$"
    if kind == "current":
        return "@"
    if kind == "last":
        return "last"
    if kind == "var":
        return "$" + _json_str(node[1])
    if kind == "lit":
        v = node[1]
        if v is None or isinstance(v, bool):
            return {None: "null", True: "true", False: "false"}[v]
        return _json_str(v) if isinstance(v, str) else format(v, "f")
    # a chain: its first item, then each accessor
    base = node[1]
    first = _show(base, True)
    if base[0] == "lit" and _is_num(base[1]) or _prio(base) < 6 and not first.startswith("("):
        first = f"({first})"
    return first + "".join(_show_step(st) for st in node[2])


def _show_step(step: Any) -> str:
    kind = step[0]
    if kind == "key":
        return "." + _json_str(step[1])
    if kind == "anykey":
        return ".*"
    if kind == "anyelem":
        return "[*]"
    if kind == "method":
        return f".{step[1]}()"
    if kind == "filter":
        return f"?({_show(step[1], False)})"
    return "[" + ",".join(_show(lo, False) + ("" if hi is None else " to " + _show(hi, False))
                          for lo, hi in step[1]) + "]"


def path_text(text: str) -> str:
    """A jsonpath's text as PostgreSQL prints it (a syntax error is 42601)."""
    strict, tree = parse_path(text)
    return ("strict " if strict else "") + _show(tree, True)


class JsonpathCodec:
    """Text and binary I/O of the jsonpath type: input parsed (checked) and kept as its
    printed text; binary: a version byte (1) and that text, as PostgreSQL sends it."""

    arrow = pa.string()

    def arrow_for_typmod(self, typmod: int) -> pa.DataType:
        return self.arrow

    def parse_text(self, a: pa.Array, t: T.SqlType) -> pa.Array:
        return map_distinct(path_text, [a], len(a), pa.string())

    def format_text(self, a: pa.Array, t: T.SqlType) -> pa.Array:
        return a

    def format_binary(self, a: pa.Array, t: T.SqlType) -> pa.Array:
        return pc.binary_join_element_wise(pa.scalar(b"\x01"), a.cast(pa.binary()),
                                           pa.scalar(b""))

    def parse_binary(self, raw: bytes, t: T.SqlType) -> str:
        if raw[:1] != b"\x01":
            raise InternalError(  # (PostgreSQL's elog: XX000)
                f"unsupported jsonpath version number: {raw[0] if raw else 0}")
        return path_text(raw[1:].decode())


JSONPATH = replace(T.JSONPATH, codec=JsonpathCodec())


class _Unknown(Exception):
    """An error inside a filter predicate: the predicate is unknown (NULL)."""


def _is_num(v: Any) -> bool:
    return isinstance(v, Decimal | int | float) and not isinstance(v, bool)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if _is_num(v):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


class _Eval:
    def __init__(self, root: Any, strict: bool, vars_: dict) -> None:
        self.root = root
        self.strict = strict
        self.vars = vars_

    # sequences of items ------------------------------------------------------------
    def seq(self, node: Any, cur: Any, last: int | None = None) -> list[Any]:
        kind = node[0]
        if kind == "root":
            return [self.root]
        if kind == "current":
            return [cur]
        if kind == "lit":
            return [node[1]]
        if kind == "var":
            if node[1] not in self.vars:
                raise UndefinedObject(f'could not find jsonpath variable "{node[1]}"')
            return [self.vars[node[1]]]
        if kind == "last":
            if last is None:
                raise _syntax("", "last")
            return [Decimal(last)]
        if kind == "chain":
            items = self.seq(node[1], cur, last)
            for step in node[2]:
                items = [out for it in items for out in self.step(step, it)]
            return items
        if kind == "neg":
            return [-self._num(v, "-") for v in self._unwrap(self.seq(node[1], cur, last))]
        if kind == "arith":
            a = self._single(self.seq(node[2], cur, last), node[1], "left")
            b = self._single(self.seq(node[3], cur, last), node[1], "right")
            return [self._arith(node[1], a, b)]
        return [self.pred(node, cur)]  # a predicate used as a value: true / false / null

    def _unwrap(self, items: list[Any]) -> list[Any]:
        if self.strict:
            return items
        return [x for it in items for x in (it if isinstance(it, list) else [it])]

    def _single(self, items: list[Any], op: str, side: str) -> Decimal:
        items = self._unwrap(items)
        if len(items) != 1 or not _is_num(items[0]):
            raise SingletonSqlJsonItemRequired(
                f"{side} operand of jsonpath operator {op} is not a single numeric value")
        return Decimal(items[0])

    def _num(self, v: Any, op: str) -> Decimal:
        if not _is_num(v):
            raise NonNumericSqlJsonItem(f"operand of unary jsonpath operator {op} is not a numeric value")
        return Decimal(v)

    @staticmethod
    def _arith(op: str, a: Decimal, b: Decimal) -> Decimal:
        from sqlvec.core.errors import DivisionByZero

        if op in ("/", "%") and b == 0:
            raise DivisionByZero("division by zero")
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return a - b * int(a / b)

    def step(self, step: Any, it: Any) -> list[Any]:
        kind = step[0]
        if kind == "key":
            if isinstance(it, dict):
                if step[1] in it:
                    return [it[step[1]]]
                if self.strict:
                    raise SqlJsonMemberNotFound(f'JSON object does not contain key "{step[1]}"')
                return []
            if isinstance(it, list) and not self.strict:
                return [x for el in it for x in self.step(step, el)]
            if self.strict:
                raise SqlJsonMemberNotFound("jsonpath member accessor can only be applied to an object")
            return []
        if kind == "anykey":
            if isinstance(it, dict):
                return list(it.values())
            if isinstance(it, list) and not self.strict:
                return [x for el in it for x in self.step(step, el)]
            if self.strict:
                raise SqlJsonObjectNotFound("jsonpath wildcard member accessor can only be applied to an object")
            return []
        if kind == "anyelem":
            if isinstance(it, list):
                return list(it)
            if self.strict:
                raise SqlJsonArrayNotFound("jsonpath wildcard array accessor can only be applied to an array")
            return [it]
        if kind == "index":
            arr = it if isinstance(it, list) else None
            if arr is None:
                if self.strict:
                    raise SqlJsonArrayNotFound("jsonpath array accessor can only be applied to an array")
                arr = [it]
            out: list[Any] = []
            for lo, hi in step[1]:
                a = self._index(lo, it, len(arr))
                b = self._index(hi, it, len(arr)) if hi is not None else a
                if self.strict and (a < 0 or b >= len(arr) or a > b):
                    raise InvalidSqlJsonSubscript("jsonpath array subscript is out of bounds")
                out.extend(arr[max(a, 0):min(b, len(arr) - 1) + 1])
            return out
        if kind == "filter":
            items = it if isinstance(it, list) and not self.strict else [it]
            return [x for x in items if self.pred(step[1], x) is True]
        return self.method(step[1], it)

    def _index(self, node: Any, cur: Any, n: int) -> int:
        vals = self.seq(node, cur, n - 1)
        if len(vals) != 1 or not _is_num(vals[0]):
            raise InvalidSqlJsonSubscript("jsonpath array subscript is not a single numeric value")
        return int(vals[0])

    def method(self, name: str, it: Any) -> list[Any]:
        if name == "type":
            return [_type_name(it)]
        if name == "size":
            if isinstance(it, list):
                return [Decimal(len(it))]
            if self.strict:
                raise SqlJsonArrayNotFound("jsonpath item method .size() can only be applied to an array")
            return [Decimal(1)]
        if isinstance(it, list) and not self.strict:
            return [x for el in it for x in self.method(name, el)]
        if name == "keyvalue":  # its "id" is an offset in PostgreSQL's binary jsonb
            from sqlvec.core.errors import FeatureNotSupported

            raise FeatureNotSupported("jsonpath item method .keyvalue() is not supported")
        if name == "double":
            if isinstance(it, str):
                try:
                    v = float(it)
                except ValueError:
                    raise NonNumericSqlJsonItem(
                        'numeric argument of jsonpath item method .double() is an invalid representation of a double'
                        ) from None
                if math.isinf(v) or math.isnan(v):
                    raise NonNumericSqlJsonItem("NaN or Infinity is not allowed for jsonpath item method .double()")
                return [Decimal(repr(v))]
            if not _is_num(it):
                raise NonNumericSqlJsonItem("jsonpath item method .double() can only be applied to a string or numeric value")
            return [Decimal(repr(float(it)))]
        if not _is_num(it):
            raise NonNumericSqlJsonItem(f"jsonpath item method .{name}() can only be applied to a numeric value")
        d = Decimal(it)
        if name == "abs":
            return [abs(d)]
        if name == "floor":
            return [Decimal(math.floor(d))]
        return [Decimal(math.ceil(d))]

    # predicates: True / False / None (unknown) --------------------------------------
    def pred(self, node: Any, cur: Any) -> bool | None:
        kind = node[0]
        if kind == "and":
            a = self.pred(node[1], cur)
            if a is False:
                return False
            b = self.pred(node[2], cur)
            return False if b is False else (None if a is None or b is None else True)
        if kind == "or":
            a = self.pred(node[1], cur)
            if a is True:
                return True
            b = self.pred(node[2], cur)
            return True if b is True else (None if a is None or b is None else False)
        if kind == "not":
            a = self.pred(node[1], cur)
            return None if a is None else not a
        if kind == "unknown":
            return self.pred(node[1], cur) is None
        try:
            if kind == "exists":
                return bool(self.seq(node[1], cur))
            if kind == "cmp":
                return self._compare(node[1], self._unwrap(self.seq(node[2], cur)),
                                     self._unwrap(self.seq(node[3], cur)))
            if kind == "like_regex":
                return self._any(self._unwrap(self.seq(node[1], cur)),
                                 lambda v: node[2].search(v) is not None if isinstance(v, str) else None)
            if kind == "starts":
                prefixes = self.seq(node[2], cur)
                p = prefixes[0] if len(prefixes) == 1 and isinstance(prefixes[0], str) else None
                if p is None:
                    return None
                return self._any(self._unwrap(self.seq(node[1], cur)),
                                 lambda v: v.startswith(p) if isinstance(v, str) else None)
            vals = self.seq(node, cur)
        except SqlError:
            return None
        if len(vals) == 1 and (isinstance(vals[0], bool) or vals[0] is None):
            return vals[0]
        raise SingletonSqlJsonItemRequired("single boolean result is expected")

    @staticmethod
    def _any(items: list[Any], test: Any) -> bool | None:
        unknown = False
        for v in items:
            r = test(v)
            if r is True:
                return True
            unknown |= r is None
        return None if unknown else False

    @staticmethod
    def _compare(op: str, left: list[Any], right: list[Any]) -> bool | None:
        unknown = False
        for a in left:
            for b in right:
                r = _cmp_items(op, a, b)
                if r is True:
                    return True
                unknown |= r is None
        return None if unknown else False


def _cmp_items(op: str, a: Any, b: Any) -> bool | None:
    ta, tb = _type_name(a), _type_name(b)
    if ta != tb:
        if ta == "null" or tb == "null":
            return op == "!="
        return None
    if ta in ("array", "object"):
        return None
    if ta == "null":
        c = 0
    elif ta == "string" and op in ("==", "!="):
        return (a == b) == (op == "==")
    else:
        c = (a > b) - (a < b)
    return {"==": c == 0, "!=": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


def _run(doc: str, path: str, vars_: str | None, silent: bool) -> tuple[list[Any] | None, Any]:
    """(items or None when silenced, the evaluator) of path over the document."""
    strict, tree = parse_path(path)
    v = loads(vars_) if vars_ is not None else {}
    if not isinstance(v, dict):
        from sqlvec.core.errors import InvalidParameterValue

        raise InvalidParameterValue('"vars" argument is not an object',
                                    detail="Jsonpath parameters should be encoded as key-value pairs of \"vars\" object.")
    ev = _Eval(loads(doc), strict, v)
    try:
        return ev.seq(tree, None), ev
    except (SqlJsonMemberNotFound, SqlJsonObjectNotFound, SqlJsonArrayNotFound, InvalidSqlJsonSubscript,
            SingletonSqlJsonItemRequired, NonNumericSqlJsonItem):
        if silent:
            return None, ev
        raise


def _args(args: list[Arg]) -> tuple[list[Arg], bool]:
    silent = False
    if len(args) > 3:
        s = args[3]
        if not isinstance(s, pa.Scalar):
            raise SyntaxError_("silent must be a constant")
        silent = bool(s.as_py())
    return args[:3], silent


def _query(kind: str):
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, silent = _args(args)

        def one(doc: str, path: str, vars_: str | None = None) -> Any:
            items, _ = _run(doc, path, vars_, silent)
            items = items or []
            if kind == "set":
                return [dumps(x) for x in items]
            if kind == "array":
                return dumps(items)
            return dumps(items[0]) if items else None
        out = pa.list_(pa.string()) if kind == "set" else pa.string()
        return map_distinct(one, a, ctx.n, out)
    return impl


def _exists(ctx: CallContext, args: list[Arg]) -> Arg:
    a, silent = _args(args)

    def one(doc: str, path: str, vars_: str | None = None) -> bool | None:
        items, _ = _run(doc, path, vars_, silent)
        return None if items is None else bool(items)
    return map_distinct(one, a, ctx.n, pa.bool_())


def _match(ctx: CallContext, args: list[Arg]) -> Arg:
    a, silent = _args(args)

    def one(doc: str, path: str, vars_: str | None = None) -> bool | None:
        items, _ = _run(doc, path, vars_, silent)
        if items is None:
            return None
        if len(items) == 1 and (isinstance(items[0], bool) or items[0] is None):
            return items[0]
        if silent:
            return None
        raise SingletonSqlJsonItemRequired("single boolean result is expected")
    return map_distinct(one, a, ctx.n, pa.bool_())


def register(fr: FunctionRegistry) -> None:
    """jsonb_path_* functions and the @? / @@ operators, the path a jsonpath (an untyped
    literal is read as one) or text."""
    JB, B = T.JSONB, T.BOOL
    for path in (JSONPATH, T.TEXT):
        full = [JB, path, JB, B]
        fr.add("jsonb_path_query", full, JB, _query("set"), min_args=2, set_returning=True)
        fr.add("jsonb_path_query_array", full, JB, _query("array"), min_args=2)
        fr.add("jsonb_path_query_first", full, JB, _query("first"), min_args=2)
        fr.add("jsonb_path_exists", full, B, _exists, min_args=2)
        fr.add("jsonb_path_match", full, B, _match, min_args=2)
        fr.add("@?", [JB, path], B,
               lambda ctx, args: _exists(ctx, [*args, pa.scalar("{}"), pa.scalar(True)]))
        fr.add("@@", [JB, path], B,
               lambda ctx, args: _match(ctx, [*args, pa.scalar("{}"), pa.scalar(True)]))
