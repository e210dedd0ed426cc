"""Binding INSERT / UPDATE / DELETE into DML plan nodes."""

from __future__ import annotations

from sqlglot import exp

from sqlvec.catalog.objects import TableDef
from sqlvec.core import types as T
from sqlvec.core.errors import (
    DuplicateColumn,
    FeatureNotSupported,
    SyntaxError_,
    UndefinedColumn,
    WrongObjectType,
)
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.sql.binder import Binder, _Default, _output_name, _unknown_outputs, relation_fields
from sqlvec.sql.fold_values import fold_columns
from sqlvec.sql.scope import Scope


def check_dims(src: T.SqlType, t: T.SqlType) -> None:
    """0A000 for a multidimensional array value stored into a (one-dimensional) column:
    table columns hold one-dimensional arrays only (issue 3), never a flattened value."""
    if src.ndims > 1 and src.ndims > t.ndims:
        from sqlvec.core.textio_arrays import multidim_error

        raise multidim_error(f"of type {src.display()} ({src.ndims} dimensions)", t)


def to_column(b: Binder, e: E.Expr, t: T.SqlType) -> E.Expr:
    """b.coerce(e, t) for a value stored into a column of type t (dimensions checked)."""
    check_dims(e.type, t)
    return b.coerce(e, t)


def assign(b: Binder, e: E.Expr, t: T.SqlType, column: str) -> E.Expr:
    """Coerce a value for storing into a column (PostgreSQL assignment cast rules)."""
    src = e.type
    check_dims(src, t)
    if src.short != "unknown" and not isinstance(e, E.Param) and src.oid != t.oid:
        can = getattr(b.regs.casts, "can_assign", None) or b.regs.casts.can_implicit
        if not can(src, t):
            from sqlvec.core.errors import DatatypeMismatch

            raise DatatypeMismatch(
                f'column "{column}" is of type {t.display_bare()} but expression is of type '
                f'{src.display_bare()}',
                hint="You will need to rewrite or cast the expression.",
            )
    return b.coerce(e, t)


def default_expr(b: Binder, table: TableDef, i: int) -> E.Expr:
    """The bound DEFAULT of column i (NULL when none)."""
    col = table.columns[i]
    t = col.sql_type(b.regs.types)
    if col.default is None:
        return E.Const(None, t)
    from sqlvec.sql.parse import parse_one_sql

    node = parse_one_sql("select " + col.default).expressions[0]
    return to_column(b, b.bind_expr(node, Scope()), t)


def _target(b: Binder, node: exp.Expr) -> TableDef:
    tbl = node.this if isinstance(node, exp.Schema) else node
    rel = b._lookup_relation(tbl.name, tbl.db or None)
    if not isinstance(rel, TableDef):
        raise WrongObjectType(f'cannot change relation "{tbl.name}"' if True else "")
    if rel.kind == "matview":
        raise WrongObjectType(f'cannot change materialized view "{tbl.name}"')
    return rel


def _returning(b: Binder, node: exp.Expr, table: TableDef, scope: Scope) -> tuple[tuple[E.Expr, ...] | None, tuple[L.Field, ...]]:
    ret = node.args.get("returning")
    if ret is None:
        return None, ()
    exprs: list[E.Expr] = []
    fields: list[L.Field] = []
    for proj in ret.expressions:
        if isinstance(proj, exp.Star) or (isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)):
            for i, c in enumerate(table.columns):
                if c.hidden:
                    continue
                t = c.sql_type(b.regs.types)
                exprs.append(E.ColRef(i, t, c.name))
                fields.append(L.Field(c.name, t, table.oid, i + 1))
            continue
        e = b.bind_expr(proj, scope)
        exprs.append(e)
        fields.append(L.Field(_output_name(proj), e.type if e.type.short != "unknown" else T.TEXT))
    return tuple(exprs), tuple(fields)


def table_scope(b: Binder, table: TableDef, alias: str | None = None, offset: int = 0) -> Scope:
    """A row of all the table's columns; an expression index's hidden ones have no name."""
    s = Scope()
    s.width = offset
    s.add(alias or table.name, [("" if c.hidden else c.name, c.sql_type(b.regs.types), table.oid, i + 1)
                                for i, c in enumerate(table.columns)])
    return s


def _view_target(b: Binder, node: exp.Expr) -> tuple[exp.Expr, TableDef]:
    """The statement's target table; a simple view's statement is rewritten onto its base
    table first (sql/view_dml.py), its WITH CHECK OPTION added to the table's checks."""
    from sqlvec.sql.view_dml import resolve

    node, checks = resolve(b, node)
    table = _target(b, node.this)
    if checks:
        from dataclasses import replace

        table = replace(table, checks=table.checks + checks)
    return node, table


def bind_insert(b: Binder, node: exp.Insert) -> L.Insert:
    node, table = _view_target(b, node)
    types = [c.sql_type(b.regs.types) for c in table.columns]
    target = node.this
    if isinstance(target, exp.Schema) and target.expressions:
        names = [i.name for i in target.expressions]
    else:
        names = [c.name for c in table.visible]
    idx = []
    for n in names:
        i = table.column_index(n)
        if i is None:
            raise UndefinedColumn(f'column "{n}" of relation "{table.name}" does not exist')
        if i in idx:
            raise DuplicateColumn(f'column "{n}" specified more than once')
        idx.append(i)
    overriding = str(node.args.get("overriding") or "").upper()
    if overriding == "USER VALUE":
        raise FeatureNotSupported("OVERRIDING USER VALUE is not supported")
    for i in idx:
        col = table.columns[i]
        if col.identity == "always" and "SYSTEM" not in overriding:
            from sqlvec.core.errors import GeneratedAlways

            vals = node.expression
            all_default = isinstance(vals, exp.Values) and all(
                isinstance(r.expressions[idx.index(i)], exp.Var | exp.Column)
                and r.expressions[idx.index(i)].name.upper() == "DEFAULT"
                for r in vals.expressions if isinstance(r, exp.Tuple) and len(r.expressions) > idx.index(i))
            if not all_default:
                raise GeneratedAlways(
                    f'cannot insert a non-DEFAULT value into column "{col.name}"',
                    detail=f'Column "{col.name}" is an identity column defined as GENERATED ALWAYS.',
                    hint="Use OVERRIDING SYSTEM VALUE to override.",
                )
    _check_generated_targets(table, idx, node.expression)
    src_node = node.expression
    if isinstance(src_node, exp.Values) or (isinstance(src_node, exp.Tuple)):
        rows_ast = src_node.expressions
        if len({len(r.expressions) if isinstance(r, exp.Tuple) else 1 for r in rows_ast}) > 1:
            raise SyntaxError_("VALUES lists must all be the same length")
        rows: list[list[E.Expr]] = []
        folded = fold_columns(b, rows_ast, idx, types)  # one cast per all-literal column
        for r in rows_ast:
            vals = r.expressions if isinstance(r, exp.Tuple) else [r]
            if len(vals) > len(idx):
                raise SyntaxError_("INSERT has more expressions than target columns")
            if len(vals) < len(idx) and not (isinstance(target, exp.Schema) and target.expressions):
                pass
            elif len(vals) < len(idx):
                raise SyntaxError_("INSERT has more target columns than expressions")
            row: list[E.Expr] = []
            for j, i in enumerate(idx):
                if j >= len(vals):
                    row.append(default_expr(b, table, i))
                    continue
                v = vals[j]
                if isinstance(v, exp.Var) and v.name.upper() == "DEFAULT" or isinstance(v, exp.Column) and v.name.upper() == "DEFAULT" and not v.table:
                    row.append(default_expr(b, table, i))
                elif (len(rows), j) in folded:
                    row.append(folded[(len(rows), j)])
                else:
                    row.append(assign(b, b.bind_expr(v, Scope()), types[i], table.columns[i].name))
            rows.append(row)
        ncols = len(idx)
        src: L.Plan = L.Values(tuple(tuple(r) for r in rows), tuple(L.Field(names[j], types[idx[j]]) for j in range(ncols)))
    elif src_node is None:
        src = L.Values(((),), ())
        idx = []
    else:
        src = b.bind_query(src_node)
        if len(src.fields) > len(idx):
            raise SyntaxError_("INSERT has more expressions than target columns")
        idx = idx[: len(src.fields)]
        # a bare NULL or string literal in the SELECT list is still `unknown` here, as in
        # PostgreSQL: it takes the column's type (INSERT INTO t SELECT 1, NULL)
        unknown = _unknown_outputs(src_node)
        for j, i in enumerate(idx):
            if j not in unknown:
                assign(b, E.ColRef(j, src.fields[j].type), types[i], table.columns[i].name)
        src = b._coerce_plan(src, [types[i] for i in idx], unknown)
    # project the source onto the full column list, filling defaults
    exprs: list[E.Expr] = []
    for i in range(len(table.columns)):
        if i in idx:
            exprs.append(E.ColRef(idx.index(i), types[i]))
        else:
            exprs.append(default_expr(b, table, i))
    full_src = L.Project(src, tuple(exprs), relation_fields(table, b.regs.types))
    gen = generated_exprs(b, table, 0, {})
    if gen:
        full_src = L.Project(full_src, tuple(gen.get(i, E.ColRef(i, types[i])) for i in range(len(types))),
                             full_src.fields)
    tbl = target.this if isinstance(target, exp.Schema) else target
    alias = tbl.alias if isinstance(tbl, exp.Table) and tbl.alias else None  # INSERT INTO t AS x
    ret, fields = _returning(b, node, table, table_scope(b, table, alias))
    conflict = node.args.get("conflict")
    oc = None
    if conflict is not None:
        oc = _bind_on_conflict(b, conflict, table, alias)
    return L.Insert(table, full_src, ret, fields, oc)


def _bind_on_conflict(
    b: Binder, c: exp.OnConflict, table: TableDef, alias: str | None = None
) -> L.OnConflict:
    targets = [k.this if isinstance(k, exp.Ordered) else k for k in c.args.get("conflict_keys") or []]
    keys = tuple(k.name for k in targets)
    index = None
    constraint = c.args.get("constraint")
    if constraint is not None and not targets:  # ON CONFLICT ON CONSTRAINT name
        cname = constraint.name
        if table.pk_name == cname and table.primary_key:
            keys = tuple(table.primary_key)
        else:
            cols = next((cols for n, cols in table.uniques if n == cname), None)
            if cols is None:
                from sqlvec.core.errors import UndefinedObject

                raise UndefinedObject(f'constraint "{cname}" for table "{table.name}" does not exist')
            keys = tuple(cols)
    if targets:  # infer the arbiter index as PostgreSQL does (its predicate must be given)
        pred = c.args.get("index_predicate")
        pred_sql = pred.this.sql(dialect="postgres", normalize_functions="lower") if pred is not None else None
        texts = {k.sql(dialect="postgres", normalize_functions="lower") if not isinstance(k, exp.Column) else k.name
                 for k in targets}
        known = [set(table.primary_key)] + [set(cols) for _, cols in table.uniques]
        if not all(isinstance(k, exp.Column) for k in targets) or set(keys) not in known:
            index = next((u.name for u in table.unique_indexes
                          if set(u.keys) == texts and u.where in (None, pred_sql)), None)
            if index is None:
                from sqlvec.core.errors import InvalidColumnReference

                raise InvalidColumnReference(
                    "there is no unique or exclusion constraint matching the ON CONFLICT specification")
    action = (c.args.get("action").name if c.args.get("action") is not None else "").upper()
    if "NOTHING" in action or c.args.get("duplicate") is None and not c.expressions:
        return L.OnConflict(keys, "nothing", index=index)
    scope = table_scope(b, table, alias)
    scope.add("excluded", [("" if col.hidden else col.name, col.sql_type(b.regs.types), 0, 0)
                           for col in table.columns])
    assigns = []
    for eq in c.expressions:
        col = eq.this.name
        i = table.column_index(col)
        if i is None:
            raise UndefinedColumn(f'column "{col}" of relation "{table.name}" does not exist')
        _check_generated_update(table, i)
        assigns.append((i, to_column(b, b.bind_expr(eq.expression, scope), table.columns[i].sql_type(b.regs.types))))
    assigns.extend(generated_exprs(b, table, 0, dict(assigns)).items())
    where = c.args.get("where")
    w = b.as_bool(b.bind_expr(where.this, scope)) if where is not None else None
    return L.OnConflict(keys, "update", tuple(assigns), w, index)


def _dml_source(b: Binder, node: exp.Expr, table: TableDef, extra_from: exp.Expr | None) -> tuple[L.Plan, Scope]:
    tbl = node.this
    alias = tbl.alias if isinstance(tbl, exp.Table) and tbl.alias else None
    fields = (L.Field("_rowid", T.INT8),) + relation_fields(table, b.regs.types)
    plan: L.Plan = L.Scan(table, fields, None, True)
    scope = table_scope(b, table, alias, offset=1)
    if extra_from is not None:
        if isinstance(extra_from, list):
            from_items = []
            for it in extra_from:
                from_items.append(it)
                from_items.extend(j.this for j in it.args.get("joins") or [])
        else:
            from_items = [extra_from.this] + list(extra_from.expressions or [])
            from_items.extend(j.this for j in extra_from.this.args.get("joins") or [])
        for item in from_items:
            rs = Scope()
            rp = b._bind_from_item(item, rs, None)
            scope.merge(rs)
            plan = L.Join(plan, rp, "cross", None, tuple(plan.fields) + tuple(rp.fields))
    where = node.args.get("where")
    if where is not None:
        plan = L.Filter(plan, b.as_bool(b.bind_expr(where.this, scope)))
    return plan, scope


def _split_row_subquery(q: exp.Expr, n: int) -> list[exp.Expr]:
    """SET (a, b) = (SELECT x, y ...): one scalar subquery per target column, each reading
    its column of the row subquery (which must give at most one row, as PostgreSQL's)."""
    names = [f"c{i + 1}" for i in range(n)]
    if isinstance(q, exp.Select) and not any(isinstance(e, exp.Star) for e in q.expressions) \
            and len(q.expressions) != n:
        from sqlvec.core.errors import SyntaxError_

        raise SyntaxError_("number of columns does not match number of values")
    return [exp.Subquery(this=exp.select(exp.column(c, "__row")).from_(
        exp.alias_(exp.Subquery(this=q.copy()), "__row", table=names))) for c in names]


def bind_update(b: Binder, node: exp.Update) -> L.Update:
    node, table = _view_target(b, node)
    frm = node.args.get("from_") or node.args.get("from")
    src, scope = _dml_source(b, node, table, frm)
    assigns = []
    pairs: list[tuple[exp.Expr, exp.Expr]] = []
    for eq in node.expressions:
        if isinstance(eq.this, exp.Tuple):  # SET (a, b) = (x, y)
            targets = eq.this.expressions
            values = eq.expression.expressions if isinstance(eq.expression, exp.Tuple) else [eq.expression]
            if isinstance(eq.expression, exp.Subquery) and len(targets) > 1:
                values = _split_row_subquery(eq.expression.this, len(targets))
            if len(targets) != len(values):
                from sqlvec.core.errors import SyntaxError_

                raise SyntaxError_("number of columns does not match number of values")
            pairs.extend(zip(targets, values))
        else:
            pairs.append((eq.this, eq.expression))
    for target, v in pairs:
        sub = None
        if isinstance(target, exp.Bracket) and isinstance(target.this, exp.Column) \
                and len(target.expressions) == 1 and not isinstance(target.expressions[0], exp.Slice):
            sub, target = target.expressions[0], target.this  # SET a[k] = v
        col = target.name
        i = table.column_index(col)
        if i is None:
            raise UndefinedColumn(f'column "{col}" of relation "{table.name}" does not exist')
        t = table.columns[i].sql_type(b.regs.types)
        if sub is not None:
            assigns = _set_element(b, assigns, i, t, sub, v, scope, col)
            continue
        is_default = isinstance(v, exp.Column) and v.name.upper() == "DEFAULT" and not v.table
        if table.columns[i].generated is not None:
            if not is_default:
                _check_generated_update(table, i)
            continue  # recomputed below
        if is_default:
            e = default_expr(b, table, i)
        else:
            e = assign(b, b.bind_expr(v, scope), t, col)
        assigns.append((i, e))
    assigns.extend(generated_exprs(b, table, 1, {i + 1: e for i, e in assigns}).items())
    if frm is not None:
        # one update per target row: keep the first joined match
        src = L.DistinctNode(src, (E.ColRef(0, T.INT8),))
    ret, fields = _returning(b, node, table, table_scope(b, table, _alias(node)))
    return L.Update(table, src, tuple(assigns), ret, fields)


def _set_element(b: Binder, assigns: list, i: int, t: T.SqlType, sub: exp.Expr, v: exp.Expr, scope: Scope,
                 col: str) -> list:
    """UPDATE ... SET a[k] = v: column i's new value built on its earlier assignment, if any."""
    if not t.is_array:
        from sqlvec.core.errors import DatatypeMismatch

        raise DatatypeMismatch(f'cannot subscript type {t.display()} because it does not support subscripting')
    lit = sub.this if isinstance(sub, exp.Neg) else sub
    if isinstance(lit, exp.Literal) and not lit.is_string and lit.is_int:  # stored minus one
        k: E.Expr = E.Const(int(lit.this) * (-1 if isinstance(sub, exp.Neg) else 1) + 1, T.INT4)
    else:
        k = b.coerce(b.bind_expr(sub, scope), T.INT4)
    prev = next((e for j, e in assigns if j == i), E.ColRef(i + 1, t))
    value = assign(b, b.bind_expr(v, scope), t.element, col)
    e = b.call("_array_set_element", [prev, k, value])
    return [(j, x) for j, x in assigns if j != i] + [(i, e)]


def generated_exprs(b: Binder, table: TableDef, offset: int, new: dict[int, E.Expr]) -> dict[int, E.Expr]:
    """GENERATED ALWAYS AS (expr) STORED columns: index -> expr over a row whose column j is
    ColRef(offset + j), with the refs in `new` (a row's new values) put in their place."""
    from sqlvec.sql.parse import parse_one_sql

    def subst(e: E.Expr) -> E.Expr:
        if isinstance(e, E.ColRef):
            return new.get(e.index, e)
        return E.map_children(e, subst)

    out: dict[int, E.Expr] = {}
    scope = table_scope(b, table, offset=offset)
    for i, col in enumerate(table.columns):
        if col.generated is None:
            continue
        node = parse_one_sql(f"SELECT {col.generated}").expressions[0]
        e = assign(b, b.bind_expr(node, scope), col.sql_type(b.regs.types), col.name)
        out[i] = subst(e) if new else e
    return out


def _check_generated_targets(table: TableDef, idx: list[int], src: exp.Expr | None) -> None:
    """An INSERT may give a generated column only DEFAULT (428C9)."""
    from sqlvec.core.errors import GeneratedAlways

    for j, i in enumerate(idx):
        col = table.columns[i]
        if col.generated is None:
            continue
        rows = src.expressions if isinstance(src, exp.Values) else None
        if rows is not None and all(
                isinstance(r, exp.Tuple) and (len(r.expressions) <= j or (
                    isinstance(r.expressions[j], exp.Var | exp.Column)
                    and r.expressions[j].name.upper() == "DEFAULT")) for r in rows):
            continue  # DEFAULT, or no value given
        raise GeneratedAlways(f'cannot insert a non-DEFAULT value into column "{col.name}"',
                              detail=f'Column "{col.name}" is a generated column.')


def _check_generated_update(table: TableDef, i: int) -> None:
    col = table.columns[i]
    if col.generated is not None:
        from sqlvec.core.errors import GeneratedAlways

        raise GeneratedAlways(f'column "{col.name}" can only be updated to DEFAULT',
                              detail=f'Column "{col.name}" is a generated column.')


def bind_delete(b: Binder, node: exp.Delete) -> L.Delete:
    node, table = _view_target(b, node)
    using = node.args.get("using") or None
    src, _ = _dml_source(b, node, table, using)
    if using:
        src = L.DistinctNode(src, (E.ColRef(0, T.INT8),))
    ret, fields = _returning(b, node, table, table_scope(b, table, _alias(node)))
    return L.Delete(table, src, ret, fields)


def _alias(node: exp.Expr) -> str | None:
    """The target's alias (UPDATE t AS x ... RETURNING x.col)."""
    tbl = node.this
    return tbl.alias if isinstance(tbl, exp.Table) and tbl.alias else None


__all__ = ["bind_insert", "bind_update", "bind_delete", "bind_merge", "default_expr", "_Default"]


def bind_merge(b: Binder, node: exp.Merge) -> L.Merge:
    table = _target(b, node.this)
    tbl = node.this
    alias = tbl.alias if isinstance(tbl, exp.Table) and tbl.alias else None
    types = [c.sql_type(b.regs.types) for c in table.columns]
    fields = (L.Field("_rowid", T.INT8),) + relation_fields(table, b.regs.types)
    target_plan: L.Plan = L.Scan(table, fields, None, True)
    scope = table_scope(b, table, alias, offset=1)
    rs = Scope()
    src_plan = b._bind_from_item(node.args["using"], rs, None)
    scope.merge(rs)
    cond = b.as_bool(b.bind_expr(node.args["on"], scope))
    joined = L.Join(target_plan, src_plan, "right", cond, tuple(fields) + tuple(src_plan.fields))
    clauses = []
    for w in node.args["whens"].expressions:
        if w.args.get("source"):
            raise FeatureNotSupported("WHEN NOT MATCHED BY SOURCE is not supported")
        matched = bool(w.args.get("matched"))
        c = w.args.get("condition")
        ce = b.as_bool(b.bind_expr(c, scope)) if c is not None else None
        then = w.args.get("then")
        if isinstance(then, exp.Var):
            action = "delete" if then.name.lower() == "delete" else "nothing"
            clauses.append(L.MergeClause(matched, ce, action))
        elif isinstance(then, exp.Update):
            assigns = []
            for eq in then.expressions:
                i = table.column_index(eq.this.name)
                if i is None:
                    raise UndefinedColumn(f'column "{eq.this.name}" of relation "{table.name}" does not exist')
                _check_generated_update(table, i)
                assigns.append((i, to_column(b, b.bind_expr(eq.expression, scope), types[i])))
            assigns.extend(generated_exprs(b, table, 1, {i + 1: e for i, e in assigns}).items())
            clauses.append(L.MergeClause(matched, ce, "update", tuple(assigns)))
        elif isinstance(then, exp.Insert):
            cols = [x.name for x in then.this.expressions] if then.this is not None else [c.name for c in table.visible]
            vals = then.expression.expressions if then.expression is not None else []
            exprs: list[E.Expr] = []
            for i, col in enumerate(table.columns):
                if col.name in cols and cols.index(col.name) < len(vals):
                    v = vals[cols.index(col.name)]
                    exprs.append(to_column(b, b.bind_expr(v, scope), types[i]))
                else:
                    exprs.append(default_expr(b, table, i))
            gen = generated_exprs(b, table, 0, dict(enumerate(exprs)))
            exprs = [gen.get(i, x) for i, x in enumerate(exprs)]
            clauses.append(L.MergeClause(matched, ce, "insert", (), tuple(exprs)))
        else:
            raise FeatureNotSupported("unsupported MERGE action")
    return L.Merge(table, joined, tuple(clauses))
