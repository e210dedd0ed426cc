"""Binding FROM clauses: tables and views, derived tables, table functions (unnest,
generate_series, json_each, ...) and joins (USING, NATURAL, LATERAL)."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlvec.catalog.objects import ViewDef
from sqlvec.core import types as T
from sqlvec.core.errors import (
    DuplicateAlias,
    FeatureNotSupported,
    SyntaxError_,
    UndefinedTable,
)
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.sql.scope import Scope, ScopeColumn

RECORD_COLUMNS: dict[str, tuple[tuple[str, Any], ...]] = {
    "jsonb_each": (("key", T.TEXT), ("value", T.JSONB)),
    "jsonb_each_text": (("key", T.TEXT), ("value", T.TEXT)),
    "json_each": (("key", T.TEXT), ("value", T.JSON)),
    "json_each_text": (("key", T.TEXT), ("value", T.TEXT)),
}

_TO_RECORD = ("jsonb_to_record", "jsonb_to_recordset", "json_to_record", "json_to_recordset")
# the OUT parameter name of a one-column set-returning function (else the alias names it)
OUT_NAMES = {f"{pre}_array_elements{suf}": "value" for pre in ("json", "jsonb") for suf in ("", "_text")}
OUT_NAMES["pg_partition_ancestors"] = "relid"


class FromBinder:
    """Mixin of Binder: FROM items and joins."""

    # -- FROM -----------------------------------------------------------------------
    def bind_from(self, sel: exp.Expr, outer: Scope | None) -> tuple[L.Plan | None, Scope]:
        from sqlvec.sql.binder import Binder

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
        from sqlvec.sql.binder import BindContext, Binder

        alias_node = item.args.get("alias")
        alias = alias_node.name if alias_node is not None and alias_node.name else None
        colnames = [c.name for c in alias_node.columns] if alias_node is not None and isinstance(alias_node, exp.TableAlias) else []
        if isinstance(item, exp.Table) and isinstance(item.this, exp.Func):
            return self._bind_table_function(item.this, alias or "", colnames, scope,
                                             bool(item.args.get("ordinality")))
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
                self.ctx.derived |= vb.ctx.derived
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
            if not getattr(rel, "populated", True):  # a materialized view created WITH NO DATA
                from sqlvec.exec.matview import unpopulated_error

                raise unpopulated_error(rel)
            fields = tuple(
                L.Field(c.name, c.sql_type(self.regs.types), rel.oid, i + 1)
                for i, c in enumerate(rel.columns) if not c.hidden
            )
            self._add_scope(scope, alias or name, fields, colnames)
            scope.items[-1].base = True
            if len(fields) < len(rel.columns):
                self.ctx.derived = True
                return L.Scan(rel, fields, derived=self._derived(rel, fields))
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
        if isinstance(item, exp.Lateral) and isinstance(item.this, exp.Unnest | exp.Func):
            # LATERAL f(...) [AS a(...)]: a function item (it may read the items before it)
            fn = item.this
            if isinstance(fn, exp.Unnest):
                offset = fn.args.get("offset")  # WITH ORDINALITY: True, or the column's name
                if isinstance(offset, exp.Identifier):
                    colnames = colnames + [offset.name]
                ordinality = isinstance(offset, exp.Identifier) or offset is True
                return self._bind_table_function(fn, alias or "unnest", colnames, scope, ordinality)
            return self._bind_table_function(fn, alias or "", colnames, scope)
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
            offset = item.args.get("offset")  # WITH ORDINALITY: True, or the column's name
            if isinstance(offset, exp.Identifier):
                colnames = colnames + [offset.name]
            ordinality = isinstance(offset, exp.Identifier) or offset is True  # False: no ordinality
            return self._bind_table_function(item, alias or "unnest", colnames, scope, ordinality)
        raise FeatureNotSupported(f"unsupported FROM item: {item.sql()[:40]}")

    def _bind_table_function(self, fn: exp.Expr, alias: str, colnames: list[str], scope: Scope,
                             ordinality: bool = False) -> L.Plan:
        plan = self._bind_function_scan(fn, alias, colnames, scope, ordinality)
        if not ordinality:
            return plan
        assert isinstance(plan, L.FunctionScan)
        from sqlvec.sql.bound_callables import WithOrdinality

        name = colnames[len(plan.fields)] if len(colnames) > len(plan.fields) else "ordinality"
        fields = plan.fields + (L.Field(name, T.INT8),)
        item = scope.items[-1]
        item.columns.append(ScopeColumn(name, T.INT8, scope.width, alias=item.alias))
        scope.width += 1
        return L.FunctionScan(plan.name, plan.args, fields, WithOrdinality(plan.fn, len(plan.fields)), True)

    def _bind_function_scan(self, fn: exp.Expr, alias: str, colnames: list[str], scope: Scope,
                            ordinality: bool) -> L.Plan:
        if ordinality:  # the ordinality column's name is not the function's
            colnames = colnames[:len(RECORD_COLUMNS.get(self.func_name_args(fn)[0], ((0, 0),)))] \
                if not isinstance(fn, exp.Unnest) else colnames[:max(len(fn.expressions), 1)]
        if isinstance(fn, exp.Unnest):
            name, args = "unnest", list(fn.expressions)
        else:
            name, args = self.func_name_args(fn)  # type: ignore[arg-type]
        empty = Scope(outer=scope.outer)
        bound = [self.bind_expr(a, empty) for a in args]
        if name in _TO_RECORD:
            return self._json_to_record(fn, name, alias, bound, scope)
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
            cname = colnames[0] if colnames else (OUT_NAMES.get(name) or alias or name)
            fields = (L.Field(cname, bf.return_type),)
        plan = L.FunctionScan(name, tuple(bound), fields, bf)
        self._add_scope(scope, alias or name, fields, [])
        if record is None and getattr(bf, "return_type", T.RECORD).short != "record":
            scope.items[-1].scalar = True  # FROM jsonb_array_elements(x) e: e is the value
        return plan

    def _json_to_record(self, fn: exp.Expr, name: str, alias: str, bound: list[E.Expr], scope: Scope) -> L.Plan:
        """json(b)_to_record(set)(doc) AS t(col type, ...): the column definition list types it."""
        from sqlvec.functions.json_records import JsonToRecord
        from sqlvec.sql.bind_literals import type_from_ast

        tbl = fn.parent
        al = tbl.args.get("alias") if isinstance(tbl, exp.Table) else None
        defs = [c for c in (al.columns if al is not None else []) if isinstance(c, exp.ColumnDef)]
        if not defs or len(bound) != 1:
            raise SyntaxError_("a column definition list is required for functions returning \"record\"")
        doc = bound[0]
        want = T.JSONB if name.startswith("jsonb") else T.JSON
        doc = self.coerce(doc, want)
        cols = [(c.name, type_from_ast(c.args["kind"], self.regs.types)) for c in defs]
        fields = tuple(L.Field(c, t) for c, t in cols)
        plan = L.FunctionScan(name, (doc,), fields, JsonToRecord(name, cols, self.regs.casts))
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

    def _derived(self, rel: Any, fields: tuple[L.Field, ...]) -> tuple:
        """A table's expression indexes as L.Scan.derived: each hidden column's field and
        its expression bound over the scan's `fields` (the values a query computing the same
        expression would get)."""
        from sqlvec.sql.parse import parse_one_sql

        local = Scope()
        local.add(rel.name, [(f.name, f.type, f.table_oid, f.attnum) for f in fields])
        out = []
        for i, c in enumerate(rel.columns):
            if c.hidden:
                e = self.bind_expr(parse_one_sql(f"SELECT {c.generated}").expressions[0], local)
                out.append((L.Field(c.name, c.sql_type(self.regs.types), rel.oid, i + 1), e))
        return tuple(out)

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
            from sqlvec.sql.scope import ScopeItem

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
                    item.columns.append(ScopeColumn(name, lc.type, lc.index, lc.table_oid, lc.attnum,
                                                    alias=lc.alias))
            scope.items.insert(0, item)
        return plan
