"""The binder: sqlglot query ASTs -> logical plans over catalog objects.

    plan = Binder(ctx).bind_query(parse_one_sql("select a from t where b > 1"))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from sqlvec.catalog.objects import TableDef, ViewDef
from sqlvec.core import types as T
from sqlvec.core.errors import (
    DatatypeMismatch,
    DuplicateAlias,
    FeatureNotSupported,
    GroupingError,
    InvalidColumnReference,
    SyntaxError_,
    UndefinedTable,
)
from sqlvec.core.types import SqlType
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.sql.bind_expr import ExprBinder, _uid
from sqlvec.sql.scope import Scope


@dataclass
class BindContext:
    """What binding needs: catalog (in a txn), registries, search path, CTEs in scope."""

    catalog: Any
    regs: Any
    search_path: list[str]
    ctes: dict[str, tuple[int, tuple[L.Field, ...]]] = field(default_factory=dict)
    seq_values: dict[int, int] | None = None  # the session's last value per sequence (currval)


class Binder(ExprBinder):
    """Binds one statement; `params` collects parameter types (None = not yet inferred)."""

    def __init__(self, ctx: BindContext, params: list[SqlType | None] | None = None,
                 outer_refs: list | None = None) -> None:
        self.ctx = ctx
        self.regs = ctx.regs
        self.params = params if params is not None else []
        self.saw_agg = False
        self.agg_forbidden: str | None = None
        self.outer_refs: list[tuple[int, int]] = outer_refs if outer_refs is not None else []
        self.cte_plans: list[tuple[int, L.Plan, L.Plan | None, bool]] = []

    def note_outer(self, level: int, index: int) -> None:
        self.outer_refs.append((level, index))

    # -- subqueries ---------------------------------------------------------------
    def bind_subquery(self, q: exp.Expr, scope: Scope, kind: str, arg: E.Expr | None) -> E.Expr:
        sub = Binder(self.ctx, self.params)
        sub.cte_plans = self.cte_plans
        plan = sub.bind_query(q, outer=scope)
        refs = sub.outer_refs
        # levels > 1 are outer references for this query level too
        for lvl, idx in refs:
            if lvl > 1:
                self.note_outer(lvl - 1, idx)
        correlated = bool(refs)
        level1 = tuple(sorted({idx for lvl, idx in refs if lvl == 1}))
        if kind == "scalar":
            if len(plan.fields) != 1:
                raise SyntaxError_("subquery must return only one column")
            return E.Subquery("scalar", plan, plan.fields[0].type, None, False, correlated, level1, next(_uid))
        if kind == "exists":
            return E.Subquery("exists", plan, T.BOOL, None, False, correlated, level1, next(_uid))
        if len(plan.fields) != 1:
            raise SyntaxError_("subquery has too many columns")
        st = plan.fields[0].type
        ct = self.regs.casts.common_type([arg.type, st])
        if st != ct:
            plan = L.Project(plan, (self.coerce(E.ColRef(0, st), ct, exact=True),),
                             (L.Field(plan.fields[0].name, ct),))
        return E.Subquery(kind, plan, T.BOOL, self.coerce(arg, ct, exact=True), False, correlated, level1,
                          next(_uid))

    # -- queries ------------------------------------------------------------------
    def bind_query(self, q: exp.Expr, outer: Scope | None = None) -> L.Plan:
        """SELECT / set operation / VALUES, with its WITH clause."""
        with_ = q.args.get("with_") or q.args.get("with")
        saved = dict(self.ctx.ctes)
        n_ctes = len(self.cte_plans)
        try:
            if with_ is not None:
                self._bind_with(with_, outer)
            plan = self._bind_query_body(q, outer)
            if with_ is not None and len(self.cte_plans) > n_ctes:
                mine = tuple(self.cte_plans[n_ctes:])
                del self.cte_plans[n_ctes:]
                plan = L.WithCtes(mine, plan)
            return plan
        finally:
            self.ctx.ctes = saved

    def _bind_with(self, w: exp.With, outer: Scope | None) -> None:
        recursive = bool(w.args.get("recursive"))
        for cte in w.expressions:
            name = cte.alias_or_name
            body = cte.this
            colnames = [c.name for c in (cte.args.get("alias").columns if cte.args.get("alias") else [])]
            cid = next(_uid)
            if isinstance(body, exp.Insert | exp.Update | exp.Delete):
                from sqlvec.sql import bind_dml

                binder = {exp.Insert: bind_dml.bind_insert, exp.Update: bind_dml.bind_update,
                          exp.Delete: bind_dml.bind_delete}[type(body)]
                dml = binder(self, body)
                fields = tuple(
                    L.Field(colnames[i] if i < len(colnames) else f.name, f.type)
                    for i, f in enumerate(dml.fields)
                )
                self.ctx.ctes[name] = (cid, fields)
                self.cte_plans.append((cid, dml, None, False))
                continue
            if recursive and isinstance(body, exp.Union) and _references(body.expression, name):
                base = self.bind_query(body.this, outer)
                fields = tuple(
                    L.Field(colnames[i] if i < len(colnames) else f.name, f.type)
                    for i, f in enumerate(base.fields)
                )
                self.ctx.ctes[name] = (cid, fields)
                rec = self.bind_query(body.expression, outer)
                rec = self._coerce_plan(rec, [f.type for f in fields])
                self.cte_plans.append((cid, L.Project(base, tuple(E.ColRef(i, f.type) for i, f in enumerate(fields)), fields), rec, body.args.get("distinct") is False))
            else:
                plan = self.bind_query(body, outer)
                fields = tuple(
                    L.Field(colnames[i] if i < len(colnames) else f.name, f.type)
                    for i, f in enumerate(plan.fields)
                )
                self.ctx.ctes[name] = (cid, fields)
                self.cte_plans.append((cid, L.Project(plan, tuple(E.ColRef(i, f.type) for i, f in enumerate(fields)), fields), None, False))

    def _coerce_plan(self, plan: L.Plan, types: list[SqlType]) -> L.Plan:
        if all(f.type == t and f.type.arrow == t.arrow for f, t in zip(plan.fields, types)) \
                and len(types) == len(plan.fields):
            return plan
        if len(types) != len(plan.fields):
            raise SyntaxError_("each UNION query must have the same number of columns")
        exprs = tuple(self.coerce(E.ColRef(i, f.type), t, exact=True) for i, (f, t) in enumerate(zip(plan.fields, types)))
        return L.Project(plan, exprs, tuple(L.Field(f.name, t) for f, t in zip(plan.fields, types)))

    def _bind_query_body(self, q: exp.Expr, outer: Scope | None) -> L.Plan:
        if isinstance(q, exp.Subquery):
            return self._finish_modifiers(self.bind_query(q.this, outer), q, outer)
        if isinstance(q, exp.Select):
            return self.bind_select(q, outer)
        if isinstance(q, exp.Values):
            return self._finish_modifiers(self.bind_values(q, outer), q, outer)
        if isinstance(q, exp.Union | exp.Intersect | exp.Except):
            left = self.bind_query(q.this, outer)
            right = self.bind_query(q.expression, outer)
            if len(left.fields) != len(right.fields):
                kind = type(q).__name__.upper()
                raise SyntaxError_(f"each {kind} query must have the same number of columns")
            types = [self.regs.casts.common_type([a.type, b.type]) for a, b in zip(left.fields, right.fields)]
            left = self._coerce_plan(left, types)
            right = self._coerce_plan(right, types)
            kind = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "except"}[type(q)]
            distinct = q.args.get("distinct")
            plan: L.Plan = L.SetOp(kind, distinct is False, left, right,
                                   tuple(L.Field(f.name, t) for f, t in zip(left.fields, types)))
            return self._finish_modifiers(plan, q, outer)
        raise FeatureNotSupported(f"unsupported query: {q.key}")

    def _finish_modifiers(self, plan: L.Plan, q: exp.Expr, outer: Scope | None) -> L.Plan:
        """ORDER BY / LIMIT / OFFSET on a set operation or VALUES (by output name/ordinal)."""
        order = q.args.get("order")
        if order is not None:
            scope = Scope(outer=outer)
            scope.add("", [(f.name, f.type, 0, 0) for f in plan.fields])
            keys = []
            for o in order.expressions:
                e = self._order_target(o.this, plan.fields, scope)
                keys.append(L.SortKey(_sort_expr(e), bool(o.args.get("desc")), _nulls_first(o)))
            plan = L.Sort(plan, tuple(keys))
        return self._limit(plan, q, outer)

    def _limit(self, plan: L.Plan, q: exp.Expr, outer: Scope | None,
               sort_keys: tuple[L.SortKey, ...] = ()) -> L.Plan:
        lim = q.args.get("limit")
        off = q.args.get("offset")
        if lim is None and off is None:
            return plan
        empty = Scope(outer=outer)
        le = oe = None
        if lim is not None:
            node = lim.args.get("expression") or lim.this
            if isinstance(lim, exp.Fetch):
                node = lim.args.get("count") or exp.Literal.number(1)
            if node is not None and not isinstance(node, exp.Null) and not (
                    isinstance(node, exp.Var) and node.name.upper() == "ALL"):
                le = self.coerce(self.bind_expr(node, empty), T.INT8)
        if off is not None:
            node = off.args.get("expression") or off.this
            oe = self.coerce(self.bind_expr(node, empty), T.INT8)
        ties = None
        opts = lim.args.get("limit_options") if isinstance(lim, exp.Fetch) else None
        if opts is not None and opts.args.get("with_ties"):
            if not sort_keys:
                from sqlvec.core.errors import SyntaxError_ as _SE

                raise _SE("WITH TIES cannot be specified without ORDER BY clause")
            ties = sort_keys
        return L.Limit(plan, le, oe, ties)

    def _order_target(self, node: exp.Expr, fields: tuple[L.Field, ...], scope: Scope) -> E.Expr:
        if isinstance(node, exp.Literal) and not node.is_string:
            pos = int(node.this)
            if not 1 <= pos <= len(fields):
                raise InvalidColumnReference(f"ORDER BY position {pos} is not in select list")
            return E.ColRef(pos - 1, fields[pos - 1].type, fields[pos - 1].name)
        return self.bind_expr(node, scope)

    def bind_values(self, v: exp.Values, outer: Scope | None,
                    target_types: list[SqlType] | None = None) -> L.Plan:
        scope = Scope(outer=outer)
        rows = [[self.bind_expr(x, scope) for x in (t.expressions if isinstance(t, exp.Tuple) else [t])]
                for t in v.expressions]
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise SyntaxError_("VALUES lists must all be the same length")
        if target_types is not None:
            types = target_types
        else:
            types = [self.regs.casts.common_type([r[i].type for r in rows]) for i in range(width)]
            types = [T.TEXT if t.short == "unknown" else t for t in types]
        out = tuple(tuple(self.coerce(r[i], types[i], exact=True) if not isinstance(r[i], _Default) else r[i]
                          for i in range(width)) for r in rows)
        names = [f"column{i + 1}" for i in range(width)]
        alias = v.args.get("alias")
        if alias is not None and alias.columns:
            names = [c.name for c in alias.columns] + names[len(alias.columns):]
        return L.Values(out, tuple(L.Field(n, t) for n, t in zip(names, types)))

    # -- FROM -----------------------------------------------------------------------
    def bind_from(self, sel: exp.Expr, outer: Scope | None) -> tuple[L.Plan | None, Scope]:
        scope = Scope(outer=outer)
        frm = sel.args.get("from_") or sel.args.get("from")
        if frm is None:
            return None, scope
        plan = self._bind_from_item(frm.this, scope, outer)
        for j in sel.args.get("joins") or []:
            # every later FROM item may read earlier ones (LATERAL; functions are implicitly so)
            right_scope = Scope(outer=scope)
            lb = Binder(self.ctx, self.params)
            lb.cte_plans = self.cte_plans
            rplan = lb._bind_from_item(j.this, right_scope, scope)
            right_scope.outer = outer
            lateral_cols = tuple(sorted({i for lvl, i in lb.outer_refs if lvl == 1}))
            for lvl, i in lb.outer_refs:
                if lvl > 1:
                    self.note_outer(lvl - 1, i)
            plan = self._bind_join(plan, scope, rplan, right_scope, j)
            if lateral_cols:
                if not isinstance(plan, L.Join):
                    raise FeatureNotSupported("LATERAL with FULL/RIGHT JOIN USING is not supported")
                plan = L.Join(plan.left, plan.right, plan.kind, plan.condition, plan.fields, True, lateral_cols)
        return plan, scope

    def _bind_from_item(self, item: exp.Expr, scope: Scope, outer: Scope | None) -> L.Plan:
        alias_node = item.args.get("alias")
        alias = alias_node.name if alias_node is not None and alias_node.name else None
        colnames = [c.name for c in alias_node.columns] if alias_node is not None and isinstance(alias_node, exp.TableAlias) else []
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Func):
            return self._bind_table_function(item.this, alias or "", colnames, scope)
        if isinstance(item, exp.Table):
            name = item.name
            schema = item.db or None
            from sqlvec.sql.bind_expr import _position

            self._table_pos = _position(item)
            if schema is None and name in self.ctx.ctes:
                cid, fields = self.ctx.ctes[name]
                plan: L.Plan = L.CteRef(name, cid, fields)
                self._add_scope(scope, alias or name, plan.fields, colnames)
                return plan
            rel = self._lookup_relation(name, schema)
            if isinstance(rel, ViewDef):
                from sqlvec.sql.parse import parse_one_sql

                vb = Binder(BindContext(self.ctx.catalog, self.regs, self.ctx.search_path), self.params)
                vplan = vb.bind_query(parse_one_sql(rel.sql))
                if rel.column_names:
                    vplan = L.Project(vplan, tuple(E.ColRef(i, f.type) for i, f in enumerate(vplan.fields)),
                                      tuple(L.Field(rel.column_names[i] if i < len(rel.column_names) else f.name, f.type)
                                            for i, f in enumerate(vplan.fields)))
                self._add_scope(scope, alias or name, vplan.fields, colnames)
                return vplan
            if callable(getattr(rel, "virtual_plan", None)):
                vplan = rel.virtual_plan()
                self._add_scope(scope, alias or name, vplan.fields, colnames)
                return vplan
            fields = tuple(
                L.Field(c.name, c.sql_type(self.regs.types), rel.oid, i + 1) for i, c in enumerate(rel.columns)
            )
            self._add_scope(scope, alias or name, fields, colnames)
            return L.Scan(rel, fields)
        if isinstance(item, exp.Subquery):
            sub = Binder(self.ctx, self.params, self.outer_refs)
            sub.cte_plans = self.cte_plans
            plan = sub.bind_query(item.this, outer)
            self._add_scope(scope, alias or "", plan.fields, colnames)
            return plan
        if isinstance(item, exp.Values):
            plan = self.bind_values(item, outer)
            self._add_scope(scope, alias or "*VALUES*", plan.fields, colnames)
            return plan
        if isinstance(item, exp.Lateral):
            sub = Binder(self.ctx, self.params)
            sub.cte_plans = self.cte_plans
            inner = item.this
            plan = sub.bind_query(inner.this if isinstance(inner, exp.Subquery) else inner, outer)
            a = item.args.get("alias")
            self._add_scope(scope, a.name if a is not None else "", plan.fields,
                            [c.name for c in a.columns] if a is not None else [])
            for lvl, i in sub.outer_refs:
                self.note_outer(lvl, i)
            return plan
        if isinstance(item, exp.Unnest):
            return self._bind_table_function(item, alias or "unnest", colnames, scope)
        raise FeatureNotSupported(f"unsupported FROM item: {item.sql()[:40]}")

    def _bind_table_function(self, fn: exp.Expr, alias: str, colnames: list[str], scope: Scope) -> L.Plan:
        if isinstance(fn, exp.Unnest):
            name, args = "unnest", list(fn.expressions)
        else:
            name, args = self.func_name_args(fn)  # type: ignore[arg-type]
        empty = Scope(outer=scope.outer)
        bound = [self.bind_expr(a, empty) for a in args]
        if name == "unnest" and len(bound) > 1:
            from sqlvec.exec.builtins import MultiUnnest

            parts = []
            for b in bound:
                if b.type.element is None:
                    b = self.coerce(b, T.array_of(T.TEXT))
                parts.append(b)
            mu = MultiUnnest([b.type for b in parts])
            fields = tuple(L.Field(colnames[i] if i < len(colnames) else "unnest", b.type.element)
                           for i, b in enumerate(parts))
            self._add_scope(scope, alias or name, fields, [])
            return L.FunctionScan(name, tuple(parts), fields, mu)
        bf = self.srf_function(name, bound)
        want = list(getattr(bf, "arg_types", []) or [])
        if len(want) == len(bound):
            bound = [self.coerce(b, t) if t.category != "P" else b for b, t in zip(bound, want)]
        record = RECORD_COLUMNS.get(name)
        if record is not None:
            fields = tuple(L.Field(colnames[i] if i < len(colnames) else c, t) for i, (c, t) in enumerate(record))
        else:
            cname = colnames[0] if colnames else (alias or name)
            fields = (L.Field(cname, bf.return_type),)
        plan = L.FunctionScan(name, tuple(bound), fields, bf)
        self._add_scope(scope, alias or name, fields, [])
        return plan

    def srf_function(self, name: str, bound: list[E.Expr]) -> Any:
        """A function usable in FROM: the registry's (set-returning or scalar), else the engine's."""
        from sqlvec.core.errors import UndefinedFunction

        types = [b.type for b in bound]
        if name in ("nextval", "currval", "setval"):
            return self.engine_function(name, types)
        try:
            return self.regs.functions.resolve(name, types)
        except UndefinedFunction:
            fn = self.engine_function(name, types)
            if fn is None:
                raise
            return fn

    def _add_scope(self, scope: Scope, alias: str, fields: tuple[L.Field, ...], colnames: list[str]) -> None:
        if alias and scope.has_table(alias):
            raise DuplicateAlias(f'table name "{alias}" specified more than once')
        cols = [
            (colnames[i] if i < len(colnames) else f.name, f.type, f.table_oid, f.attnum)
            for i, f in enumerate(fields)
        ]
        scope.add(alias, cols)

    def _lookup_relation(self, name: str, schema: str | None) -> Any:
        cat = self.ctx.catalog
        if schema is not None:
            rel = cat.relation(schema, name)
        else:
            rel = cat.find_relation(name, self.ctx.search_path)
        if rel is None:
            virtual = getattr(cat, "virtual_relation", None)
            if virtual is not None:
                rel = virtual(schema, name)
        if rel is None:
            raise UndefinedTable(f'relation "{name if schema is None else schema + "." + name}" does not exist',
                                 position=getattr(self, "_table_pos", None))
        return rel

    def _bind_join(self, left: L.Plan, scope: Scope, right: L.Plan, rscope: Scope, j: exp.Join) -> L.Plan:
        side = (j.args.get("side") or "").lower()
        kind = (j.args.get("kind") or "").lower()
        method = (j.args.get("method") or "").lower()
        jkind = side or ("cross" if kind == "cross" else "inner")
        lw = scope.width
        using = [u.name for u in j.args.get("using") or []]
        if method == "natural":
            lnames = {c.name for it in scope.items for c in it.columns if not c.hidden}
            using = [c.name for it in rscope.items for c in it.columns if c.name in lnames]
        for it in rscope.items:
            if it.alias and scope.has_table(it.alias):
                raise DuplicateAlias(f'table name "{it.alias}" specified more than once')
        scope.merge(rscope)
        fields = tuple(left.fields) + tuple(right.fields)
        cond: E.Expr | None = None
        merged: list = []
        if using:
            conds = []
            for name in using:
                lc = None
                for it in scope.items:
                    for c in it.columns:
                        if c.name == name and c.index < lw and not c.hidden:
                            lc = c
                rc = next((c for it in scope.items for c in it.columns if c.name == name and c.index >= lw), None)
                if lc is None or rc is None:
                    from sqlvec.core.errors import UndefinedColumn

                    raise UndefinedColumn(f'column "{name}" specified in USING clause does not exist in {"left" if lc is None else "right"} table')
                rc.hidden = True
                lc.hidden = True
                merged.append((name, lc, rc))
                conds.append(self.call("=", [E.ColRef(lc.index, lc.type, name), E.ColRef(rc.index, rc.type, name)]))
            cond = conds[0] if len(conds) == 1 else E.BoolOp("and", tuple(conds), T.BOOL)
        elif j.args.get("on") is not None:
            cond = self.as_bool(self.bind_expr(j.args["on"], scope))
        if jkind == "cross" and cond is not None:
            jkind = "inner"
        if cond is None and jkind == "inner":
            jkind = "cross"
        plan: L.Plan = L.Join(left, right, jkind, cond, fields)
        if merged:
            # USING columns come first in SELECT *; FULL/RIGHT joins merge them with COALESCE
            from sqlvec.sql.scope import ScopeColumn, ScopeItem

            item = ScopeItem("", [])
            if jkind in ("full", "right"):
                exprs = [E.ColRef(i, f.type, f.name) for i, f in enumerate(fields)]
                extra = []
                for name, lc, rc in merged:
                    t = self.regs.casts.common_type([lc.type, rc.type])
                    exprs.append(E.Coalesce((self.coerce(E.ColRef(lc.index, lc.type), t, exact=True),
                                             self.coerce(E.ColRef(rc.index, rc.type), t, exact=True)), t))
                    extra.append(L.Field(name, t))
                    item.columns.append(ScopeColumn(name, t, scope.width))
                    scope.width += 1
                plan = L.Project(plan, tuple(exprs), fields + tuple(extra))
            else:
                for name, lc, _ in merged:
                    item.columns.append(ScopeColumn(name, lc.type, lc.index, lc.table_oid, lc.attnum))
            scope.items.insert(0, item)
        return plan

    # -- SELECT ---------------------------------------------------------------------
    def bind_select(self, sel: exp.Select, outer: Scope | None) -> L.Plan:
        plan, scope = self.bind_from(sel, outer)
        if plan is None:
            plan = L.Values(((),), ())
        where = sel.args.get("where")
        if where is not None:
            self.agg_forbidden = "aggregate functions are not allowed in WHERE"
            try:
                pred = self.bind_expr(where.this, scope)
            finally:
                self.agg_forbidden = None
            if pred.type.short != "bool":
                if pred.type.short == "unknown":
                    pred = self.coerce(pred, T.BOOL)
                else:
                    raise DatatypeMismatch(f"argument of WHERE must be type boolean, not type {pred.type.display()}")
            plan = L.Filter(plan, pred)

        self.named_windows = {w.name: w for w in sel.args.get("windows") or []}
        # select list (expand stars)
        items: list[tuple[str, E.Expr]] = []
        for proj in sel.expressions:
            if isinstance(proj, exp.Star):
                for it in scope.items:
                    for c in it.columns:
                        if not c.hidden:
                            items.append((c.name, E.ColRef(c.index, c.type, c.name)))
                if not scope.items:
                    raise SyntaxError_("SELECT * with no tables specified is not valid")
                continue
            if isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
                it = scope.item(proj.table)
                for c in it.columns:
                    items.append((c.name, E.ColRef(c.index, c.type, c.name)))
                continue
            self.srf_ok = True
            try:
                e = self.bind_expr(proj, scope)
            finally:
                self.srf_ok = False
            items.append((_output_name(proj), e))

        group = sel.args.get("group")
        having = sel.args.get("having")
        order = sel.args.get("order")
        distinct = sel.args.get("distinct")
        names = [n for n, _ in items]

        # ORDER BY targets: output names / ordinals first, else expressions over the FROM scope
        order_exprs: list[tuple[E.Expr | int, bool, bool | None]] = []
        if order is not None:
            for o in order.expressions:
                node = o.this
                target: E.Expr | int
                if isinstance(node, exp.Literal) and not node.is_string:
                    pos = int(node.this)
                    if not 1 <= pos <= len(items):
                        raise InvalidColumnReference(f"ORDER BY position {pos} is not in select list")
                    target = pos - 1
                elif isinstance(node, exp.Column) and not node.table and node.name in names and \
                        names.count(node.name) >= 1 and _is_alias_ref(node.name, sel):
                    target = names.index(node.name)
                else:
                    target = self.bind_expr(node, scope)
                order_exprs.append((target, bool(o.args.get("desc")), _nulls_first(o)))

        having_e = self.as_bool(self.bind_expr(having.this, scope)) if having is not None else None

        group_exprs: list[E.Expr] = []
        grouping_sets: list[tuple[int, ...]] | None = None

        def bind_group_item(g: exp.Expr) -> int:
            if isinstance(g, exp.Literal) and not g.is_string:
                pos = int(g.this)
                if not 1 <= pos <= len(items):
                    raise InvalidColumnReference(f"GROUP BY position {pos} is not in select list")
                e = items[pos - 1][1]
            elif isinstance(g, exp.Column) and not g.table and scope.find(g.name, None) is None and g.name in names:
                e = items[names.index(g.name)][1]
            else:
                e = self.bind_expr(g, scope)
            if e not in group_exprs:
                group_exprs.append(e)
            return group_exprs.index(e)

        def elems(g: exp.Expr) -> list[exp.Expr]:
            if isinstance(g, exp.Tuple):
                return list(g.expressions)
            if isinstance(g, exp.Paren):
                return elems(g.this) if isinstance(g.this, exp.Tuple) else [g.this]
            return [g]

        if group is not None:
            sets: list[tuple[int, ...]] = [()]
            special = False
            parts = list(group.expressions)
            for key in ("grouping_sets", "rollup", "cube"):
                for extra in group.args.get(key) or []:
                    parts.append(extra)
            for g in parts:
                if isinstance(g, exp.Tuple) and not g.expressions:
                    continue  # GROUP BY (): one group over all rows
                if isinstance(g, exp.GroupingSets | exp.Rollup | exp.Cube):
                    special = True
                    comps = [tuple(bind_group_item(x) for x in elems(c)) for c in g.expressions]
                    if isinstance(g, exp.GroupingSets):
                        options = comps
                    elif isinstance(g, exp.Rollup):
                        options = [tuple(i for c in comps[:k] for i in c) for k in range(len(comps), -1, -1)]
                    else:
                        import itertools as it

                        options = []
                        for r in range(len(comps), -1, -1):
                            for combo in it.combinations(range(len(comps)), r):
                                options.append(tuple(i for k in combo for i in comps[k]))
                    sets = [a + b for a in sets for b in options]
                else:
                    i = bind_group_item(g)
                    sets = [a + (i,) for a in sets]
            if special:
                grouping_sets = [tuple(dict.fromkeys(x)) for x in sets]

        all_exprs = [e for _, e in items] + [t for t, _, _ in order_exprs if isinstance(t, E.Expr)]
        if having_e is not None:
            all_exprs.append(having_e)
        has_agg = any(E.contains(e, E.AggCall) for e in all_exprs)
        if has_agg or group is not None:
            aggs: list[E.AggCall] = []
            for e in all_exprs:
                for x in E.walk(e):
                    if isinstance(x, E.AggCall) and x not in aggs:
                        aggs.append(x)
            ng = len(group_exprs)
            fields = tuple(L.Field(f"g{i}", g.type) for i, g in enumerate(group_exprs)) + tuple(
                L.Field(a.name, a.type) for a in aggs
            )
            plan = L.Aggregate(plan, tuple(group_exprs), tuple(aggs), fields,
                               tuple(grouping_sets) if grouping_sets is not None else None)

            def post(e: E.Expr) -> E.Expr:
                return _rewrite_post_agg(e, group_exprs, aggs, ng)

            items = [(n, post(e)) for n, e in items]
            order_exprs = [(post(t) if isinstance(t, E.Expr) else t, d, nf) for t, d, nf in order_exprs]
            if having_e is not None:
                plan = L.Filter(plan, post(having_e))
        elif having_e is not None:
            raise GroupingError("HAVING requires GROUP BY or an aggregate")

        # window functions: computed over the (grouped) rows, then referenced as columns
        plan, items, order_exprs = _lift_calls(plan, items, order_exprs, E.WindowCall, L.Window, True)
        # set-returning functions in the select list multiply the rows (ProjectSet)
        plan, items, order_exprs = _lift_calls(plan, items, order_exprs, E.SrfCall, L.ProjectSet, False)

        # projection (with hidden sort columns)
        exprs = [e for _, e in items]
        out_fields = [_field_for(n, e, plan) for n, e in items]
        nvis = len(exprs)
        sort_keys: list[L.SortKey] = []
        for t, desc, nf in order_exprs:
            if isinstance(t, int):
                sort_keys.append(L.SortKey(_sort_expr(E.ColRef(t, exprs[t].type)), desc, nf))
                continue
            if t in exprs[:nvis]:
                i = exprs.index(t)
            else:
                if distinct is not None and distinct.args.get("on") is None:
                    raise InvalidColumnReference("for SELECT DISTINCT, ORDER BY expressions must appear in select list")
                exprs.append(t)
                out_fields.append(L.Field("?sort?", t.type))
                i = len(exprs) - 1
            sort_keys.append(L.SortKey(_sort_expr(E.ColRef(i, t.type)), desc, nf))

        on_keys: tuple[E.Expr, ...] | None = None
        if distinct is not None and distinct.args.get("on") is not None:
            on_nodes = distinct.args["on"].expressions if isinstance(distinct.args["on"], exp.Tuple) else [distinct.args["on"]]
            ons = []
            for node in on_nodes:
                t = self.bind_expr(node, scope) if not (isinstance(node, exp.Literal)) else items[int(node.this) - 1][1]
                if has_agg or group is not None:
                    t = _rewrite_post_agg(t, group_exprs, aggs, len(group_exprs))
                if t in exprs:
                    i = exprs.index(t)
                else:
                    exprs.append(t)
                    out_fields.append(L.Field("?on?", t.type))
                    i = len(exprs) - 1
                ons.append(E.ColRef(i, t.type))
            on_keys = tuple(ons)

        plan = L.Project(plan, tuple(exprs), tuple(out_fields))
        if on_keys is not None:
            keys = tuple(L.SortKey(k) for k in on_keys)
            # DISTINCT ON keeps the first row per key in ORDER BY order
            plan = L.Sort(plan, tuple(sort_keys) if sort_keys else keys)
            plan = L.DistinctNode(plan, on_keys)
        elif distinct is not None:
            plan = L.DistinctNode(plan, None)
            if sort_keys:
                plan = L.Sort(plan, tuple(sort_keys))
        elif sort_keys:
            plan = L.Sort(plan, tuple(sort_keys))
        plan = self._limit(plan, sel, outer, tuple(sort_keys))
        if len(exprs) > nvis:
            plan = L.Project(plan, tuple(E.ColRef(i, exprs[i].type) for i in range(nvis)), tuple(out_fields[:nvis]))
        return plan


def _sort_expr(e: E.Expr) -> E.Expr:
    """What ORDER BY sorts for e: jsonb by its PostgreSQL order key, other types as they are."""
    if e.type.short != "jsonb":
        return e
    from sqlvec.functions.jsonb_order import JsonbSortKey

    return E.Func("jsonb_order_key", (e,), T.BYTEA, JsonbSortKey())


RECORD_COLUMNS: dict[str, tuple[tuple[str, Any], ...]] = {
    "jsonb_each": (("key", T.TEXT), ("value", T.JSONB)),
    "jsonb_each_text": (("key", T.TEXT), ("value", T.TEXT)),
    "json_each": (("key", T.TEXT), ("value", T.JSON)),
    "json_each_text": (("key", T.TEXT), ("value", T.TEXT)),
}


class _Default(E.Expr):
    """DEFAULT in an INSERT VALUES row."""

    type = T.UNKNOWN


def _is_alias_ref(name: str, sel: exp.Select) -> bool:
    return True


def _nulls_first(o: exp.Ordered) -> bool | None:
    nf = o.args.get("nulls_first")
    desc = bool(o.args.get("desc"))
    # sqlglot fills nulls_first with the dialect default; normalise to PostgreSQL's
    if nf is None:
        return None
    return bool(nf) if bool(nf) != desc else None


def _output_name(proj: exp.Expr) -> str:
    from sqlvec.sql.bind_expr import BINARY_OPS

    if isinstance(proj, exp.Alias):
        return proj.alias
    if type(proj) in BINARY_OPS:
        return "?column?"
    if isinstance(proj, exp.Column):
        return proj.name
    if isinstance(proj, exp.Cast):
        name = _output_name(proj.this)
        return name if name != "?column?" else _type_colname(proj.args["to"])
    if isinstance(proj, exp.Paren | exp.Bracket):
        return _output_name(proj.this)
    if isinstance(proj, exp.Case):
        return "case"
    if isinstance(proj, exp.Exists):
        return "exists"
    if isinstance(proj, exp.Subquery):
        inner = proj.this
        if isinstance(inner, exp.Select) and len(inner.expressions) == 1:
            return _output_name(inner.expressions[0])
    if isinstance(proj, exp.Coalesce):
        return "coalesce"
    if isinstance(proj, exp.Nullif):
        return "nullif"
    if isinstance(proj, exp.Greatest):
        return "greatest"
    if isinstance(proj, exp.Least):
        return "least"
    if isinstance(proj, exp.Window):
        return _output_name(proj.this)
    if isinstance(proj, exp.Filter):
        return _output_name(proj.this)
    if isinstance(proj, exp.Array):
        return "array"
    if isinstance(proj, exp.WithinGroup):
        return _output_name(proj.this)
    if isinstance(proj, exp.Extract):
        return "extract"
    if isinstance(proj, exp.CurrentTimestamp):  # now() parses as a plain call
        return "current_timestamp"
    if isinstance(proj, exp.StrPosition):  # POSITION(a IN b); strpos() parses as a plain call
        return "position"
    if isinstance(proj, exp.AtTimeZone):
        return "timezone"
    if isinstance(proj, exp.IntDiv):
        return "div"
    if isinstance(proj, exp.Func):
        from sqlvec.sql.bind_expr import _pg_call

        if isinstance(proj, exp.Anonymous):
            return proj.name.lower()
        special = _pg_call(proj)
        if special is not None and special[0][:1].isalpha():
            return special[0] if not isinstance(proj, exp.Trim) else "btrim" if special[0] == "btrim" else special[0]
        from sqlvec.sql.bind_expr import _FUNC_NAME_FIX

        if isinstance(proj, exp.Explode):
            return "unnest"
        n = type(proj).__name__.lower()
        return _FUNC_NAME_FIX.get(n, proj.sql_name().lower())
    return "?column?"


def _type_colname(dt: exp.DataType) -> str:
    s = dt.sql(dialect="postgres").lower().split("(")[0]
    return {"int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2", "text": "text",
            "double precision": "float8", "real": "float4", "boolean": "bool", "varchar": "varchar",
            "character varying": "varchar", "decimal": "numeric", "numeric": "numeric",
            "timestamp": "timestamp", "timestamptz": "timestamptz", "date": "date"}.get(s, s)


def _field_for(name: str, e: E.Expr, plan: L.Plan) -> L.Field:
    if isinstance(e, E.ColRef) and e.index < len(plan.fields):
        f = plan.fields[e.index]
        return L.Field(name, e.type, f.table_oid, f.attnum)
    t = e.type if e.type.short != "unknown" else T.TEXT
    return L.Field(name, t)


def _rewrite_post_agg(e: E.Expr, groups: list[E.Expr], aggs: list[E.AggCall], ng: int) -> E.Expr:
    """Express e over an Aggregate's output (groups then aggs); bare columns -> 42803."""
    if e in groups:
        i = groups.index(e)
        return E.ColRef(i, e.type, getattr(e, "name", ""))
    if isinstance(e, E.AggCall):
        if e.name == "grouping" and any(a not in groups for a in e.args):
            raise GroupingError("arguments to GROUPING must be grouping expressions of the associated query level")
        return E.ColRef(ng + aggs.index(e), e.type, e.name)
    if isinstance(e, E.WindowCall):
        import dataclasses

        f = lambda x: _rewrite_post_agg(x, groups, aggs, ng)  # noqa: E731
        return dataclasses.replace(e, args=tuple(map(f, e.args)), partition=tuple(map(f, e.partition)),
                                   order=tuple((f(o), d, nf) for o, d, nf in e.order))
    if isinstance(e, E.ColRef):
        raise GroupingError(
            f'column "{e.name}" must appear in the GROUP BY clause or be used in an aggregate function'
        )
    if isinstance(e, E.Subquery):
        if e.correlated and e.outer_cols:
            # re-map level-1 outer columns through the grouping
            new_cols = []
            for idx in e.outer_cols:
                probe = next((g for g in groups if isinstance(g, E.ColRef) and g.index == idx), None)
                if probe is None:
                    raise GroupingError("subquery uses ungrouped column from outer query")
                new_cols.append(groups.index(probe))
            if new_cols != list(e.outer_cols):
                raise FeatureNotSupported("correlated subquery over grouped columns is not supported yet")
        arg = _rewrite_post_agg(e.arg, groups, aggs, ng) if e.arg is not None else None
        return E.Subquery(e.kind, e.plan, e.type, arg, e.negate, e.correlated, e.outer_cols, e.uid)
    return _map_children(e, lambda c: _rewrite_post_agg(c, groups, aggs, ng))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}



def _lift_calls(plan, items, order_exprs, kind, node, in_order_by: bool):
    """Compute the `kind` calls (window or set-returning) of the select list (and ORDER BY when
    `in_order_by`) in one `node` above `plan`; the expressions then read them as columns."""
    found: list = []
    exprs = [e for _, e in items]
    if in_order_by:
        exprs += [t for t, _, _ in order_exprs if isinstance(t, E.Expr)]
    for e in exprs:
        for x in E.walk(e):
            if isinstance(x, kind) and x not in found:
                found.append(x)
    if not found:
        return plan, items, order_exprs
    base = len(plan.fields)
    plan = node(plan, tuple(found), tuple(plan.fields) + tuple(L.Field(x.name, x.type) for x in found))

    def post(e: E.Expr) -> E.Expr:
        if isinstance(e, kind):
            return E.ColRef(base + found.index(e), e.type, e.name)
        return _map_children(e, post)

    items = [(n, post(e)) for n, e in items]
    order_exprs = [(post(t) if isinstance(t, E.Expr) else t, d, nf) for t, d, nf in order_exprs]
    return plan, items, order_exprs


def _map_children(e: E.Expr, f) -> E.Expr:
    """e with f applied to each direct child expression: a copy when a child changed, else e
    itself (expressions are frozen; the planner maps every tree several times)."""
    import dataclasses

    cls = type(e)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if not dataclasses.is_dataclass(e):
            return e
        names = _FIELD_NAMES[cls] = tuple(fld.name for fld in dataclasses.fields(e))
    changes: dict[str, Any] = {}
    for name in names:
        v = getattr(e, name)
        if isinstance(v, E.Expr):
            nv = f(v)
            if nv is not v:
                changes[name] = nv
        elif isinstance(v, tuple) and v and all(isinstance(x, E.Expr) for x in v):
            nt = tuple(f(x) for x in v)
            if any(a is not b for a, b in zip(nt, v)):
                changes[name] = nt
        elif isinstance(v, tuple) and v and all(isinstance(x, tuple) for x in v) and name == "whens":
            nw = tuple((f(c), f(r)) for c, r in v)
            if any(a[0] is not b[0] or a[1] is not b[1] for a, b in zip(nw, v)):
                changes[name] = nw
    return dataclasses.replace(e, **changes) if changes else e


def _outer_down(e: E.Expr) -> E.Expr:
    """Table-function arguments are bound one scope out; their level-1 refs stay level 1."""
    return e


def _references(node: exp.Expr, name: str) -> bool:
    return any(t.name == name and not t.db for t in node.find_all(exp.Table))


def relation_fields(rel: TableDef, types: Any) -> tuple[L.Field, ...]:
    return tuple(L.Field(c.name, c.sql_type(types), rel.oid, i + 1) for i, c in enumerate(rel.columns))
