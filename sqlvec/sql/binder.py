"""The binder: sqlglot query ASTs -> logical plans over catalog objects.

    plan = Binder(ctx).bind_query(parse_one_sql("select a from t where b > 1"))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlglot import exp

from sqlvec.core import types as T
from sqlvec.core.errors import (
    DatatypeMismatch,
    FeatureNotSupported,
    GroupingError,
    InvalidColumnReference,
    SyntaxError_,
)
from sqlvec.core.types import SqlType
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.sql.bind_expr import ExprBinder, _uid
from sqlvec.sql.bind_from import RECORD_COLUMNS, FromBinder  # noqa: F401
from sqlvec.sql.expr_rewrite import (  # noqa: F401 - re-exported: bind_dml
    _lift_calls,
    _map_children,
    _outer_down,
    _references,
    _rewrite_post_agg,
)
from sqlvec.sql.scope import Scope
from sqlvec.sql.select_names import (  # noqa: F401 - re-exported: bind_dml
    _field_for,
    _is_alias_ref,
    _nulls_first,
    _output_name,
    _sort_expr,
    _type_colname,
    relation_fields,
)


@dataclass
class BindContext:
    """What binding needs: catalog (in a txn), registries, search path, CTEs in scope."""

    catalog: Any
    regs: Any
    search_path: list[str]
    ctes: dict[str, tuple[int, tuple[L.Field, ...]]] = field(default_factory=dict)
    seq_values: dict[int, int] | None = None  # the session's last value per sequence (currval)
    derived: bool = False  # a Scan lists an expression index's column (plan/index_expressions.py)


class Binder(FromBinder, ExprBinder):
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
        clause = w.args.get("search")  # SEARCH / CYCLE of the last WITH query
        if clause is not None and w.expressions:
            from sqlvec.sql.search_cycle import rewrite

            w = w.copy()
            rewrite(w.expressions[-1], clause)
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

    def _coerce_plan(self, plan: L.Plan, types: list[SqlType], unknown: frozenset[int] = frozenset()
                     ) -> L.Plan:
        """plan's columns as `types`; the `unknown` ones (a set operation leaf's bare literals)
        by an explicit cast, as PostgreSQL resolves an unknown literal ('a' -> int: 22P02)."""
        if all(f.type == t and f.type.arrow == t.arrow for f, t in zip(plan.fields, types)) \
                and len(types) == len(plan.fields):
            return plan
        if len(types) != len(plan.fields):
            raise SyntaxError_("each UNION query must have the same number of columns")
        if isinstance(plan, L.Project) and any(t is T.NUMERIC_TEXT for t in types):
            # numeric held as its text: the cast wraps the expression itself, so a quotient
            # shows its own scale per value (n / 3 UNION SELECT 10)
            exprs = tuple(self.coerce(e, t, i in unknown, exact=True)
                          for i, (e, t) in enumerate(zip(plan.exprs, types)))
            return replace(plan, exprs=exprs, fields=tuple(L.Field(f.name, t) for f, t in zip(plan.fields, types)))
        exprs = tuple(self.coerce(E.ColRef(i, f.type), t, i in unknown, exact=True)
                      for i, (f, t) in enumerate(zip(plan.fields, types)))
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
            lu, ru = _unknown_outputs(q.this), _unknown_outputs(q.expression)
            types = [self.regs.casts.common_type([T.UNKNOWN if i in lu else a.type,
                                                  T.UNKNOWN if i in ru else b.type])
                     for i, (a, b) in enumerate(zip(left.fields, right.fields))]
            left = self._coerce_plan(left, types, lu)
            right = self._coerce_plan(right, types, ru)
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
                le = self._row_count(self.bind_expr(node, empty), "LIMIT")
        if off is not None:
            node = off.args.get("expression") or off.this
            oe = self._row_count(self.bind_expr(node, empty), "OFFSET")
        ties = None
        opts = lim.args.get("limit_options") if isinstance(lim, exp.Fetch) else None
        if opts is not None and opts.args.get("with_ties"):
            if not sort_keys:
                from sqlvec.core.errors import SyntaxError_ as _SE

                raise _SE("WITH TIES cannot be specified without ORDER BY clause")
            ties = sort_keys
        return L.Limit(plan, le, oe, ties)

    def _functional_deps(self, scope: Scope, group_exprs: list[E.Expr]) -> None:
        """GROUP BY a table's primary key also groups by the table's other columns (PostgreSQL's
        functional dependency: SELECT name ... GROUP BY id): they are added as group keys."""
        keys = {g.index for g in group_exprs if isinstance(g, E.ColRef)}
        for it in scope.items:
            if not it.base:
                continue
            by_oid: dict[int, list] = {}
            for c in it.columns:
                if c.table_oid and c.attnum > 0:
                    by_oid.setdefault(c.table_oid, []).append(c)
            for oid, cols in by_oid.items():
                rel = self.ctx.catalog.relation_by_oid(oid)
                pk = getattr(rel, "primary_key", ()) if rel is not None else ()
                if not pk:
                    continue
                names = {c.name: c for c in cols}
                if not all(k in names and names[k].index in keys for k in pk):
                    continue
                for c in cols:
                    if c.index not in keys:
                        group_exprs.append(E.ColRef(c.index, c.type, c.name))
                        keys.add(c.index)

    def _row_count(self, e: E.Expr, clause: str) -> E.Expr:
        """A LIMIT / OFFSET argument as bigint (an assignment cast, as PostgreSQL: 42804 else)."""
        if e.type.short != "unknown" and not self.regs.casts.can_assign(e.type, T.INT8):
            from sqlvec.core.errors import DatatypeMismatch

            raise DatatypeMismatch(f"argument of {clause} must be type bigint, not type {e.type.display()}")
        return self.coerce(e, T.INT8)

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

        if group is not None and grouping_sets is None:
            self._functional_deps(scope, group_exprs)
        srf_keys = list(dict.fromkeys(x for g in group_exprs for x in E.walk(g) if isinstance(x, E.SrfCall)))
        if srf_keys:  # GROUP BY unnest(...): the set-returning keys run below the grouping
            base = len(plan.fields)
            plan = L.ProjectSet(plan, tuple(srf_keys),
                                tuple(plan.fields) + tuple(L.Field(x.name, x.type) for x in srf_keys))

            def lift(e: E.Expr) -> E.Expr:
                if isinstance(e, E.SrfCall) and e in srf_keys:
                    return E.ColRef(base + srf_keys.index(e), e.type, e.name)
                return _map_children(e, lift)

            group_exprs[:] = [lift(g) for g in group_exprs]
            items = [(n, lift(e)) for n, e in items]
            order_exprs = [(lift(t) if isinstance(t, E.Expr) else t, d, nf) for t, d, nf in order_exprs]
            having_e = lift(having_e) if having_e is not None else None

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


class _Default(E.Expr):
    """DEFAULT in an INSERT VALUES row."""

    type = T.UNKNOWN


def _unknown_outputs(q: exp.Expr) -> frozenset[int]:
    """Output columns of a set operation's SELECT leaf that are bare NULLs or string literals:
    PostgreSQL keeps them `unknown` for the set operation to resolve (NULL UNION 1 -> int)."""
    while isinstance(q, exp.Subquery):
        q = q.this
    if not isinstance(q, exp.Select):
        return frozenset()
    out = set()
    for i, p in enumerate(q.expressions):
        if isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star)):
            return frozenset()
        if isinstance(p, exp.Alias):
            p = p.this
        if isinstance(p, exp.Null) or (isinstance(p, exp.Literal) and p.is_string):
            out.add(i)
    return frozenset(out)
