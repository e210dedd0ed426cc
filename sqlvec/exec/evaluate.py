"""Vectorised evaluation of bound expressions over one Arrow record batch."""

from __future__ import annotations

import decimal
import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import CardinalityViolation, DatatypeMismatch, FeatureNotSupported
from sqlvec.functions.registry import BoundFunction, CallContext, as_rows
from sqlvec.plan import expr as E

# regproc regclass regtype regnamespace regrole, and their arrays
REG_OIDS = frozenset({24, 2205, 2206, 4089, 4096, 1008, 2210, 2211, 4090, 4097})


def full(value: Any, t: pa.DataType, n: int) -> pa.Array:
    """An array of n copies of value."""
    if value is None:
        return pa.nulls(n, t)
    if n == 0:  # pa.repeat of a list scalar cannot build an empty array
        return pa.array([], t) if not isinstance(t, pa.ExtensionType) else pa.nulls(0, t)
    if isinstance(t, pa.ExtensionType):  # numeric held as its text
        from sqlvec.core.textio_numeric import numeric_text_scalar

        return pa.repeat(numeric_text_scalar(value), n)
    return pa.repeat(pa.scalar(value, type=t), n)


_ONE_ROW = pa.RecordBatch.from_arrays([pa.array([0], pa.int8())], names=["_"])
# id(expr) -> (expr, whether it is constant within one execution): params, constants, casts
# and non-volatile functions of them (kept with the expr so its id stays unique)
_EXEC_CONST: dict[int, tuple[E.Expr, bool]] = {}
# (id(const), id(fn), argument position) -> (const, fn (both held weakly), the pa.Scalar fn
# receives or None): constants of cached plans are converted once, not per execution
_SCALARS: dict[tuple[int, int, int], tuple[Any, Any, pa.Scalar | None]] = {}


def exec_const(e: E.Expr) -> bool:
    """Whether e has one value per execution (no columns, outer rows, subqueries or volatile
    calls), so it can be computed once and broadcast: `$1::vector`, `lower($2)`, `3 * $1`."""
    hit = _EXEC_CONST.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    cls = type(e)
    if cls is E.Param or cls is E.Const:
        ok = True
    elif cls is E.Cast:
        ok = exec_const(e.arg)
    elif cls is E.Func:
        fn = e.fn
        ok = hasattr(fn, "definition") and not fn.volatile and not fn.set_returning \
            and all(exec_const(a) for a in e.args)
    else:
        ok = False
    if len(_EXEC_CONST) > 4096:  # bounded: it keeps the exprs (and their constants) alive
        _EXEC_CONST.clear()
    _EXEC_CONST[id(e)] = (e, ok)
    return ok


# id(Func) -> (expr, whether fn.call would hand its constant/parameter scalars to the
# implementation unchanged: every argument's type is already the declared one)
_DIRECT: dict[int, tuple[Any, bool]] = {}  # (expr held weakly)


def _direct(e: E.Func) -> bool:
    """Whether e's arguments, as Const/Param scalars of their own types, need no coercion."""
    hit = _DIRECT.get(id(e))
    if hit is not None and hit[0]() is e:
        return hit[1]
    fn = e.fn
    ok = type(fn).call is BoundFunction.call and \
        len(e.args) == len(fn.arg_types) == len(fn.input_types) and all(
        a.type.arrow == d.arrow and s.oid == d.oid and s.arrow == d.arrow
        for a, s, d in zip(e.args, fn.input_types, fn.arg_types))
    if len(_DIRECT) > 4096:
        _DIRECT.clear()
    _DIRECT[id(e)] = (weakref.ref(e), ok)
    return ok


def _call_scalars(fn: Any, args: list[pa.Scalar], n: int, env: Any) -> pa.Array:
    """fn.call(args, n, env) for arguments that are all pa.Scalars of fn.arg_types (its
    coercion and constant detection leave such arguments as they are): the implementation,
    then call's handling of its result. Point expressions (`$1 + 1`, `lower($2)`) skip the
    per-argument checks."""
    return as_rows(fn.definition.impl(CallContext(fn.arg_types, fn.return_type, n, env, fn.input_types), args), n)


_STATEMENT_ENV: list[Any] = []  # catalog.system.statement_env, imported on first use


def _arr(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _decimal_param(v: decimal.Decimal | int, t: pa.DataType) -> decimal.Decimal:
    """A numeric parameter rounded half away from zero to the decimal's scale (as an
    assignment to numeric(p, s) does; an unconstrained numeric is held at scale 16), 22003
    when its integer digits do not fit."""
    from sqlvec.core.errors import NumericValueOutOfRange

    d = decimal.Decimal(v)
    if not d.is_finite():
        return d  # NaN / Infinity: pa.scalar says 42804, as before
    with decimal.localcontext() as c:
        c.prec = 200
        q = d.quantize(decimal.Decimal(1).scaleb(-t.scale), rounding=decimal.ROUND_HALF_UP)
    if q.adjusted() >= t.precision - t.scale and not q.is_zero():
        raise NumericValueOutOfRange("numeric field overflow")
    return q


class Evaluator:
    """Evaluates expressions; `ctx` gives params, outer rows, subquery execution, casts."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        # per-statement caches keyed by id(expr); the expr is kept in the value so its id stays unique
        self._consts: dict[tuple[int, int], tuple[E.Expr, pa.Array]] = {}
        # per-execution: parameter values as Arrow (by index and type, and broadcast to n rows)
        self._params: dict[tuple, Any] = {}
        self._once: dict[int, tuple[E.Expr, pa.Array]] = {}  # exec_const exprs, one row each
        self._env: Any = None  # the statement's EvalEnv, made on first use

    def eval(self, e: E.Expr, batch: pa.RecordBatch) -> pa.Array:
        n = batch.num_rows
        cls = type(e)
        m = _DISPATCH.get(cls)
        if m is None:
            m = _DISPATCH[cls] = getattr(Evaluator, "_e_" + cls.__name__)
        out = m(self, e, batch, n)
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        if out.type != e.type.arrow and not pa.types.is_null(e.type.arrow):
            try:
                out = out.cast(e.type.arrow)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass
        return out

    def _e_Const(self, e: E.Const, b: pa.RecordBatch, n: int) -> pa.Array:
        key = (id(e), n)
        hit = self._consts.get(key)
        if hit is not None:
            return hit[1]
        t = e.type.arrow if e.type.short != "unknown" else pa.string()
        arr = full(e.value, t, n)
        self._consts[key] = (e, arr)
        return arr

    def _const_scalar(self, a: E.Expr, fn: Any, i: int) -> pa.Scalar | None:
        """A constant argument as the pa.Scalar the function would receive after coercion
        (skips broadcasting it and re-detecting that it is constant); None when it needs a cast."""
        key = (id(a), id(fn), i)
        hit = _SCALARS.get(key)
        if hit is not None and hit[0]() is a and hit[1]() is fn:
            return hit[2]
        sc = None
        if isinstance(a, E.Const) and a.type.short != "unknown" and i < len(fn.arg_types):
            src, dst = fn.input_types[i], fn.arg_types[i]
            if src.oid == dst.oid and a.type.arrow == dst.arrow and src.arrow == dst.arrow:
                try:
                    sc = pa.scalar(a.value, type=dst.arrow)
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
                    sc = None
        if len(_SCALARS) > 4096:
            _SCALARS.clear()
        _SCALARS[key] = (weakref.ref(a), weakref.ref(fn), sc)
        return sc

    def _e_ColRef(self, e: E.ColRef, b: pa.RecordBatch, n: int) -> pa.Array:
        return b.column(e.index)

    def _e_OuterRef(self, e: E.OuterRef, b: pa.RecordBatch, n: int) -> pa.Array:
        row = self.ctx.outer[-e.level]
        return full(row[e.index], e.type.arrow, n)

    def param_scalar(self, index: int, t: pa.DataType, type_name: str = "") -> pa.Scalar:
        """Parameter $index+1 as an Arrow scalar of type t, built once per execution; a
        Python value that does not convert is 42804 (never a raw Arrow error)."""
        key = (index, t)
        hit = self._params.get(key)
        if hit is None:
            v = self.ctx.params[index]
            if pa.types.is_decimal(t) and isinstance(v, decimal.Decimal | int) and not isinstance(v, bool):
                v = _decimal_param(v, t)
            try:
                if isinstance(t, pa.ExtensionType):  # numeric held as its text
                    from sqlvec.core.textio_numeric import numeric_text_scalar

                    hit = numeric_text_scalar(v)
                else:
                    hit = pa.scalar(v, type=t)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                    ValueError, OverflowError) as ex:
                if (pa.types.is_list(t) and not pa.types.is_list(t.value_type) and isinstance(v, list | tuple)
                        and any(isinstance(x, list | tuple) for x in v)):
                    from sqlvec.core.errors import FeatureNotSupported
                    from sqlvec.core.textio_arrays import MULTIDIM_COLUMN

                    raise FeatureNotSupported(MULTIDIM_COLUMN, detail=str(ex)) from None
                raise DatatypeMismatch(
                    f"parameter ${index + 1} of type {type_name or t}: cannot use a value of "
                    f"Python type {type(v).__name__}", detail=str(ex)) from None
            self._params[key] = hit
        return hit

    def _e_Param(self, e: E.Param, b: pa.RecordBatch, n: int) -> pa.Array:
        t = e.type.arrow
        key = (e.index, t, n)
        hit = self._params.get(key)
        if hit is None:
            if self.ctx.params[e.index] is None:
                hit = full(None, t, n)
            elif n == 0:
                hit = pa.nulls(0, t)
            else:
                hit = pa.repeat(self.param_scalar(e.index, t, e.type.name), n)
            self._params[key] = hit
        return hit

    def once(self, e: E.Expr) -> pa.Array:
        """An exec_const expression's value as a one-row array, computed once per execution."""
        hit = self._once.get(id(e))
        if hit is None or hit[0] is not e:
            hit = self._once[id(e)] = (e, self.eval(e, _ONE_ROW))
        return hit[1]

    def _e_Func(self, e: E.Func, b: pa.RecordBatch, n: int) -> pa.Array:
        fn = e.fn
        if hasattr(fn, "definition"):  # registry functions see the statement's environment
            args: list[Any] = []
            scalars = bool(n)
            for i, a in enumerate(e.args):
                cls = type(a)
                if cls is E.Const and n:
                    sc = self._const_scalar(a, fn, i)
                elif cls is E.Param and n and a.type.short != "unknown":
                    sc = self.param_scalar(a.index, a.type.arrow, a.type.name)  # fn.call broadcasts
                else:
                    sc = None
                if sc is None:
                    scalars = False
                    if n > 1 and exec_const(a):
                        sc = self.once(a)  # one row: fn.call passes it on as a scalar
                args.append(sc if sc is not None else self.eval(a, b))
            if scalars and _direct(e):
                return _call_scalars(fn, args, n, self.env)
            return fn.call(args, n, self.env)
        args = [self.eval(a, b) for a in e.args]
        return e.fn.call(args, n)

    @property
    def env(self) -> Any:
        """The per-statement EvalEnv (session, settings, live catalog: catalog/system)."""
        env = self._env
        if env is None:
            if not _STATEMENT_ENV:
                from sqlvec.catalog.system import statement_env

                _STATEMENT_ENV.append(statement_env)
            env = self._env = _STATEMENT_ENV[0](self.ctx)
        return env

    def _e_Cast(self, e: E.Cast, b: pa.RecordBatch, n: int) -> pa.Array:
        if n and exec_const(e):  # `$1::vector`: cast once per execution, then broadcast
            hit = self._once.get(id(e))
            if hit is None or hit[0] is not e:
                hit = self._once[id(e)] = (e, self._cast(e, b if n == 1 else _ONE_ROW))
            one = hit[1]
            if n == 1:
                return one
            return pa.repeat(one[0], n) if one.null_count == 0 else pa.nulls(n, one.type)
        return self._cast(e, b)

    def _cast(self, e: E.Cast, b: pa.RecordBatch) -> pa.Array:
        src = e.arg.type
        if src.short == "numeric" and e.type.short in ("text", "varchar", "bpchar", "numeric"):
            from sqlvec.core.textio_numeric import is_numeric_text, numeric_text_array

            text_out = e.type.short != "numeric" or is_numeric_text(e.type.arrow)  # or NUMERIC_TEXT
            txt = self.scaled_text(e.arg, b) if text_out else None
            if txt is not None:
                from sqlvec.core import types as T

                return numeric_text_array(txt) if e.type.short == "numeric" else \
                    self.ctx.regs.casts.cast(txt, T.TEXT, e.type, explicit=e.explicit)
            if e.type.short == "numeric" and text_out:  # static scale: the value's own text
                from sqlvec.core.textio import format_text

                return numeric_text_array(format_text(self.eval(e.arg, b), src))
            if is_numeric_text(src.arrow) and e.type.short == "numeric":  # its text -> the value
                from sqlvec.core.textio import round_decimal
                from sqlvec.functions.numeric_scale import from_text

                return round_decimal(from_text(self.eval(e.arg, b).storage).values, e.type.arrow)
        a = self.eval(e.arg, b)
        if src.short == "unknown":
            from sqlvec.core import types as T

            src = T.TEXT
        if e.type.oid in REG_OIDS or src.oid in REG_OIDS:  # names <-> OIDs need the catalog
            from sqlvec.catalog.system.regcast import reg_cast

            out = reg_cast(self.ctx, a, src, e.type)
            if out is not None:
                return out
        return self.ctx.regs.casts.cast(a, src, e.type, explicit=e.explicit, timezone=self.env.timezone)

    def scaled_text(self, e: E.Expr, b: pa.RecordBatch) -> pa.Array | None:
        """The text of a numeric expression with PostgreSQL's display scale per value
        (exec/numeric_eval); None when no operator in it picks a scale per value."""
        from sqlvec.exec.numeric_eval import scaled_text

        return scaled_text(self, e, b)

    def _e_BoolOp(self, e: E.BoolOp, b: pa.RecordBatch, n: int) -> pa.Array:
        # nested ANDs (ORs) are one n-ary node; stop once every row is decided (all false for
        # AND, all true for OR): the rest cannot change the result, and PostgreSQL would not
        # evaluate them either
        conj = e.op == "and"
        f = pc.and_kleene if conj else pc.or_kleene
        acc = None
        for a in _flatten(e):
            v = self.eval(a, b)
            acc = v if acc is None else f(acc, v)
            if isinstance(acc, pa.BooleanArray) and (acc.false_count if conj else acc.true_count) == n:
                break
        return acc

    def _e_Not(self, e: E.Not, b: pa.RecordBatch, n: int) -> pa.Array:
        return pc.invert(self.eval(e.arg, b))

    def _e_IsNull(self, e: E.IsNull, b: pa.RecordBatch, n: int) -> pa.Array:
        a = self.eval(e.arg, b)
        return pc.is_valid(a) if e.negate else pc.is_null(a)

    def _e_IsBool(self, e: E.IsBool, b: pa.RecordBatch, n: int) -> pa.Array:
        a = self.eval(e.arg, b)
        if e.value is None:
            r = pc.is_null(a)
        else:
            r = pc.fill_null(pc.equal(a, e.value), False)
        return pc.invert(r) if e.negate else r

    def _e_Distinct(self, e: E.Distinct, b: pa.RecordBatch, n: int) -> pa.Array:
        x, y = self.eval(e.left, b), self.eval(e.right, b)
        fn = e.fn  # (the `=` of the two types, called as _e_Func calls it)
        eq = fn.call([x, y], n, self.env) if hasattr(fn, "definition") else fn.call([x, y], n)
        both_null = pc.and_(pc.is_null(x), pc.is_null(y))
        same = pc.if_else(pc.is_null(eq), both_null, eq)
        return same if e.negate else pc.invert(same)

    def _e_Case(self, e: E.Case, b: pa.RecordBatch, n: int) -> pa.Array:
        # as in PostgreSQL, a row's later conditions, its branch value and the ELSE are
        # evaluated only for the rows that reach them (1/0 or an overflow in an untaken
        # branch raises nothing)
        t = e.type.arrow
        pieces: list[tuple[np.ndarray, pa.Array]] = []
        rest: np.ndarray | None = None  # rows still undecided (None: all of them)
        sub = b
        for cond, val in e.whens:
            if sub.num_rows == 0:
                break
            c = np.asarray(pc.fill_null(self.eval(cond, sub), False), dtype=bool)
            if not c.any():
                continue
            hit = np.flatnonzero(c)
            pieces.append((hit if rest is None else rest[hit], self.eval(val, sub.take(pa.array(hit)))))
            miss = np.flatnonzero(~c)
            rest = miss if rest is None else rest[miss]
            sub = sub.take(pa.array(miss))
        if e.default is not None and sub.num_rows:
            pieces.append((np.arange(n) if rest is None else rest, self.eval(e.default, sub)))
        if not pieces:
            return pa.nulls(n, t)
        if len(pieces) == 1 and len(pieces[0][0]) == n:
            v = pieces[0][1]
            return v if v.type == t else _scatter(v, pa.array(pieces[0][0]), n, t)
        pos = np.full(n, -1, dtype=np.int64)
        off = 0
        values = []
        for idx, v in pieces:
            pos[idx] = np.arange(off, off + len(idx))
            off += len(idx)
            if v.type != t:
                v = _as_type(v, t)
            values.append(v)
        return pa.concat_arrays(values).take(pa.array(pos, mask=pos < 0))

    def _e_Coalesce(self, e: E.Coalesce, b: pa.RecordBatch, n: int) -> pa.Array:
        # lazy, as in PostgreSQL: a later argument is evaluated only on rows still NULL
        result = self.eval(e.args[0], b)
        for a in e.args[1:]:
            missing = pc.is_null(result)
            if not pc.any(missing).as_py():
                break
            idx = pc.indices_nonzero(missing)
            v = self.eval(a, b.take(idx))
            more = _scatter(v, idx, n, result.type)
            if isinstance(result.type, pa.ExtensionType):  # numeric held as its text
                result = pa.ExtensionArray.from_storage(result.type, pc.coalesce(result.storage, more.storage))
            else:
                result = pc.coalesce(result, more)
        return result

    def _e_InList(self, e: E.InList, b: pa.RecordBatch, n: int) -> pa.Array:
        x = self.eval(e.arg, b)
        if pa.types.is_nested(x.type):  # arrays, vectors, sparsevec: Arrow has no is_in/equal
            eq = self.ctx.regs.functions.resolve("=", [e.arg.type, e.arg.type])  # the SQL `=`
            acc = None
            for v in e.values:
                hit = eq.call([x, self.eval(v, b)], n)
                acc = hit if acc is None else pc.or_kleene(acc, hit)
            return pc.invert(acc) if e.negate else acc
        consts = all(isinstance(v, E.Const) for v in e.values)
        if consts:
            vals = [v.value for v in e.values]
            non_null = [v for v in vals if v is not None]
            if isinstance(x.type, pa.ExtensionType) and non_null:  # numeric held as its text: by value
                from sqlvec.core.textio_numeric import (
                    numeric_py_text,
                    numeric_text_array,
                    value_keys,
                )

                xk, vk = value_keys(_arr(x), numeric_text_array(pa.array([numeric_py_text(v) for v in non_null])))
                return _in_result(x, pc.is_in(xk, value_set=vk), len(non_null) != len(vals), e.negate, n)
            hit = pc.is_in(x, value_set=pa.array(non_null, type=x.type)) if non_null else full(False, pa.bool_(), n)
            has_null = len(non_null) != len(vals)
            return _in_result(x, hit, has_null, e.negate, n)
        acc = None
        for v in e.values:
            eq = pc.equal(x, self.eval(v, b))
            acc = eq if acc is None else pc.or_kleene(acc, eq)
        return pc.invert(acc) if e.negate else acc

    def _e_Subquery(self, e: E.Subquery, b: pa.RecordBatch, n: int) -> pa.Array:
        if not e.correlated:
            table = self.ctx.subquery_result(e, None)
            return self._subq_apply(e, table, b, n)
        # correlated: answered by one run joined on the correlation keys when the shape allows
        dec = self.ctx.decorrelated(e)
        if dec is not None:
            from sqlvec.exec.decorrelate import evaluate as dec_evaluate

            return dec_evaluate(self, e, dec, b)
        # otherwise run once per distinct outer key (level-1 columns of this batch)
        if not e.outer_cols:
            table = self.ctx.subquery_result(e, {})
            return self._subq_apply(e, table, b, n)
        keys = pa.table([b.column(i) for i in e.outer_cols], names=[f"k{i}" for i in range(len(e.outer_cols))])
        gid, uniq = group_ids(keys)
        pieces: list[pa.Array] = [None] * len(uniq)  # type: ignore[list-item]
        rows = uniq.to_pylist()
        out_type = e.type.arrow
        result_by_group = []
        for g, row in enumerate(rows):
            frame = dict(zip(e.outer_cols, row.values()))
            table = self.ctx.subquery_result(e, frame)
            sel = np.nonzero(gid == g)[0]
            sub = b.take(pa.array(sel))
            result_by_group.append((sel, self._subq_apply(e, table, sub, len(sel))))
        del pieces
        out = [None] * n
        values = np.empty(n, dtype=object)
        for sel, arr in result_by_group:
            values[sel] = np.array(arr.to_pylist() + [None], dtype=object)[:-1]
        out = pa.array(values.tolist(), type=out_type)
        return out

    def _subq_apply(self, e: E.Subquery, table: pa.Table, b: pa.RecordBatch, n: int) -> pa.Array:
        if e.kind == "exists":
            return full(table.num_rows > 0, pa.bool_(), n)
        if e.kind == "array":
            col = _arr(table.column(0)) if table.num_rows else pa.array([], type=e.type.arrow.value_type)
            one = pa.ListArray.from_arrays(pa.array([0, len(col)], pa.int32()), col.cast(e.type.arrow.value_type))
            return one.take(pa.array(np.zeros(n, dtype=np.int64)))
        if e.kind == "scalar":
            if table.num_rows > 1:
                raise CardinalityViolation("more than one row returned by a subquery used as an expression")
            v = table.column(0)[0].as_py() if table.num_rows else None
            return full(v, e.type.arrow if e.type.arrow != pa.null() else table.schema.field(0).type, n)
        x = self.eval(e.arg, b) if e.kind == "in" and not isinstance(e.arg, E.Row) else None
        if e.kind == "in" and (x is None or pa.types.is_nested(x.type)):
            # rows, and values Arrow's is_in has no kernel for (arrays, vectors): by group ids
            if table.num_rows == 0:
                return full(e.negate, pa.bool_(), n)
            left = [self.eval(a, b) for a in e.arg.args] if x is None else [x]
            names = [f"k{i}" for i in range(len(left))]
            lt = pa.table(left, names=names)
            rt = pa.table([_arr(c).cast(lt.schema.field(i).type) for i, c in enumerate(table.columns)], names=names)
            gid, _ = group_ids(pa.concat_tables([lt, rt]))
            lhit = np.isin(gid[:n], gid[n:])
            lnull = np.zeros(n, bool)
            for c in left:
                if c.null_count:
                    lnull |= np.asarray(pc.is_null(c).to_numpy(zero_copy_only=False), bool)
            hit = pa.array(lhit & ~lnull)
            rnull = any(c.null_count for c in table.columns)
            res = _in_result(pa.array(np.where(lnull, None, 0), type=pa.int8()) if lnull.any() else full(0, pa.int8(), n),
                             hit, rnull, e.negate, n)
            return res
        if e.kind == "in":
            if table.num_rows == 0:
                return full(e.negate, pa.bool_(), n)  # nothing IN an empty set, even NULL
            col = _arr(table.column(0))
            has_null = col.null_count > 0
            if isinstance(x.type, pa.ExtensionType) or isinstance(col.type, pa.ExtensionType):
                from sqlvec.core.textio_numeric import (
                    value_keys,  # numeric held as its text: by value
                )

                xk, vk = value_keys(_arr(x), col.drop_null())
                hit = pc.is_in(xk, value_set=vk) if len(vk) else full(False, pa.bool_(), n)
                return _in_result(x, hit, has_null, e.negate, n)
            non_null = col.drop_null().cast(x.type) if len(col) else pa.array([], type=x.type)
            hit = pc.is_in(x, value_set=non_null) if len(non_null) else full(False, pa.bool_(), n)
            return _in_result(x, hit, has_null, e.negate, n)
        raise FeatureNotSupported(f"subquery kind {e.kind}")

    def _e_Quantified(self, e: E.Quantified, b: pa.RecordBatch, n: int) -> pa.Array:
        x = self.eval(e.arg, b)
        if isinstance(e.source, E.Subquery):
            sq = e.source
            if sq.correlated:
                raise FeatureNotSupported("correlated ANY/ALL subqueries are not supported yet")
            table = self.ctx.subquery_result(sq, None)
            col = _arr(table.column(0)) if table.num_rows else pa.array([], type=sq.plan.fields[0].type.arrow)
            m = len(col)
            parents = np.repeat(np.arange(n), m)
            elems = col.take(pa.array(np.tile(np.arange(m), n))) if m else col
        else:
            arrs = self.eval(e.source, b)
            parents = np.asarray(pc.list_parent_indices(arrs).to_numpy(zero_copy_only=False), dtype=np.int64)
            elems = pc.list_flatten(arrs)
        pair = pa.RecordBatch.from_arrays([x.take(pa.array(parents)), elems], names=["x", "e"])
        res = self.eval(e.cmp, pair) if len(parents) else pa.array([], pa.bool_())
        tv = np.asarray(pc.fill_null(res, False).to_numpy(zero_copy_only=False), bool)
        fv = np.asarray(pc.fill_null(pc.invert(res), False).to_numpy(zero_copy_only=False), bool) if len(res) else tv
        nv = np.asarray(pc.is_null(res).to_numpy(zero_copy_only=False), bool) if len(res) else tv
        n_true = np.bincount(parents[tv], minlength=n)
        n_false = np.bincount(parents[fv], minlength=n)
        n_null = np.bincount(parents[nv], minlength=n)
        if e.all:
            out = np.where(n_false > 0, 0, np.where(n_null > 0, 2, 1))
        else:
            out = np.where(n_true > 0, 1, np.where(n_null > 0, 2, 0))
        arr_null = pc.is_null(self.eval(e.source, b)) if not isinstance(e.source, E.Subquery) else None
        mask = out == 2
        if arr_null is not None:
            mask = mask | np.asarray(arr_null.to_numpy(zero_copy_only=False), bool)
        return pa.array(out == 1, mask=mask)

    def _e_WindowCall(self, e: E.WindowCall, b: pa.RecordBatch, n: int) -> pa.Array:
        from sqlvec.core.errors import WindowingError

        raise WindowingError("window functions are not allowed here")

    def _e_AggCall(self, e: E.AggCall, b: pa.RecordBatch, n: int) -> pa.Array:
        raise FeatureNotSupported("aggregate in unexpected position")


_DISPATCH: dict[type, Any] = {}


def _flatten(e: E.BoolOp) -> list[E.Expr]:
    """The operands of a chain of the same AND/OR, left to right."""
    out: list[E.Expr] = []
    stack = list(reversed(e.args))
    while stack:
        a = stack.pop()
        if type(a) is E.BoolOp and a.op == e.op:
            stack.extend(reversed(a.args))
        else:
            out.append(a)
    return out


def _in_result(x: pa.Array, hit: pa.Array, has_null: bool, negate: bool, n: int) -> pa.Array:
    """SQL IN semantics: true on a match; else NULL if x is NULL or the set has a NULL; else false."""
    hit = pc.fill_null(hit, False)
    unknown = pc.is_null(x)
    if has_null:
        unknown = pc.or_(unknown, pc.invert(hit))
    unknown = pc.and_(unknown, pc.invert(hit))
    res = pc.invert(hit) if negate else hit
    return pc.if_else(unknown, pa.nulls(n, pa.bool_()), res)


def _scatter(values: pa.Array, idx: pa.Array, n: int, t: pa.DataType) -> pa.Array:
    """An n-long array with values at idx, nulls elsewhere."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[np.asarray(idx)] = np.arange(len(idx))
    take = pa.array(pos, mask=pos < 0)
    if values.type != t:
        values = _as_type(values, t)
    return values.take(take)


def _as_type(values: pa.Array, t: pa.DataType) -> pa.Array:
    """values cast to t where Arrow can (numeric text for NUMERIC_TEXT), else as they are."""
    if isinstance(t, pa.ExtensionType):
        from sqlvec.core.textio_numeric import numeric_text_of

        try:
            return numeric_text_of(values)
        except TypeError:
            return values
    try:
        return values.cast(t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return values


def _nested_codes(col: pa.Array) -> np.ndarray:
    """Equality codes for list/struct values (no Arrow hash kernel for them): their equality
    bytes (storage/nested_keys: -0 = 0, NaN = NaN, NULL elements equal, as PostgreSQL's
    btree equality), dictionary-encoded; leaves it has no bytes for via Python tuples."""
    from sqlvec.storage.nested_keys import nested_key

    try:
        enc = pc.dictionary_encode(nested_key(col), null_encoding="encode")
        return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    except TypeError:
        pass

    def freeze(v: Any) -> Any:
        if isinstance(v, list):
            return tuple(freeze(x) for x in v)
        if isinstance(v, dict):
            return tuple(sorted((k, freeze(x)) for k, x in v.items()))
        return v

    seen: dict[Any, int] = {}
    return np.fromiter((seen.setdefault(freeze(v), len(seen)) for v in col.to_pylist()), dtype=np.int64,
                       count=len(col))


def group_ids(keys: pa.Table) -> tuple[np.ndarray, pa.Table]:
    """Dense group id per row (first-appearance order) and the unique key rows (nulls group together)."""
    n = keys.num_rows
    if keys.num_columns == 0:
        return np.zeros(n, dtype=np.int64), pa.table({})
    codes = []
    for col in keys.columns:
        col = _arr(col)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if isinstance(col.type, pa.ExtensionType):  # numeric held as its text: by value
            from sqlvec.core.textio_numeric import order_key

            col = order_key(col)
        if not n:
            codes.append(np.zeros(0, dtype=np.int64))
            continue
        if pa.types.is_nested(col.type):
            codes.append(_nested_codes(col))
            continue
        if pa.types.is_floating(col.type):  # (-0 + 0 is 0: one group, as float8 = says)
            col = pc.add(col, pa.scalar(0, col.type))
        enc = pc.dictionary_encode(col, null_encoding="encode")
        codes.append(np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64))
    if n == 0:
        return np.zeros(0, dtype=np.int64), keys.slice(0, 0)
    # one int64 code per row: mixed radix over the per-column codes, re-densified before overflow
    combo = codes[0]
    for c in codes[1:]:
        card = int(c.max()) + 1 if len(c) else 1
        if int(combo.max()) + 1 > (2**62) // max(card, 1):
            combo = np.unique(combo, return_inverse=True)[1].reshape(-1).astype(np.int64)
        combo = combo * card + c
    _, first, inv = np.unique(combo, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    # renumber groups in order of first appearance
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    gid = rank[inv]
    uniq = keys.take(pa.array(np.sort(first)))
    return gid.astype(np.int64), uniq
