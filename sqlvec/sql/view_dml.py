"""INSERT / UPDATE / DELETE through a simple view (PostgreSQL's automatically updatable views).

A view over one table (or one such view) without DISTINCT, GROUP BY, HAVING, LIMIT/OFFSET,
set operations, WITH, aggregates, window or set-returning functions in its select list is
updatable: the statement is rewritten onto its base relation (view columns -> the base
columns or expressions they select, the view's WHERE added to UPDATE's and DELETE's
condition) and bound as an ordinary statement. Columns that are expressions can be read
(WHERE, RETURNING) but not written (0A000). WITH [CASCADED | LOCAL] CHECK OPTION becomes
a check on the new rows (44000) that the DML executor runs with the table's own checks.

    >>> # CREATE VIEW v AS SELECT id, name AS n FROM t WHERE id > 0
    >>> # UPDATE v SET n = 'x' WHERE n = 'y'  ->  UPDATE t AS v SET name = 'x' WHERE (v.id > 0) AND (v.name = 'y')
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from sqlvec.catalog.objects import CheckDef, TableDef, ViewDef
from sqlvec.core.errors import FeatureNotSupported, ObjectNotInPrerequisiteState, UndefinedColumn

_VERB = {exp.Insert: ("insert into", "inserting into", "INSERT"),
         exp.Update: ("update", "updating", "UPDATE"),
         exp.Delete: ("delete from", "deleting from", "DELETE")}


def not_updatable_reason(q: exp.Expr, lookup: Any) -> str | None:
    """Why a view's query is not automatically updatable (PostgreSQL's DETAIL), or None."""
    if not isinstance(q, exp.Select):
        if isinstance(q, exp.SetOperation):
            return "Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable."
        return "Views that do not select from a single table or view are not automatically updatable."
    if q.args.get("with_") or q.args.get("with"):
        return "Views containing WITH are not automatically updatable."
    if q.args.get("distinct"):
        return "Views containing DISTINCT are not automatically updatable."
    if q.args.get("group"):
        return "Views containing GROUP BY are not automatically updatable."
    if q.args.get("having"):
        return "Views containing HAVING are not automatically updatable."
    if q.args.get("limit") or q.args.get("offset") or q.args.get("fetch"):
        return "Views containing LIMIT or OFFSET are not automatically updatable."
    frm = q.args.get("from_") or q.args.get("from")
    if frm is None or q.args.get("joins") or frm.expressions or not isinstance(frm.this, exp.Table) \
            or isinstance(frm.this.this, exp.Func):
        return "Views that do not select from a single table or view are not automatically updatable."
    rel = lookup(frm.this)
    if not isinstance(rel, TableDef | ViewDef) or isinstance(rel, TableDef) and rel.kind != "table":
        return "Views that do not select from a single table or view are not automatically updatable."
    for e in q.expressions:
        if e.find(exp.AggFunc) is not None:
            return "Views that return aggregate functions are not automatically updatable."
        if e.find(exp.Window) is not None:
            return "Views that return window functions are not automatically updatable."
        if e.find(exp.Explode, exp.Unnest) is not None or any(
                f.name.lower() in ("generate_series", "unnest", "jsonb_array_elements", "regexp_matches")
                for f in e.find_all(exp.Anonymous)):
            return "Views that return set-returning functions are not automatically updatable."
    return None


def _target_table(node: exp.Expr) -> exp.Table:
    t = node.this
    return t.this if isinstance(t, exp.Schema) else t


def resolve(b: Any, node: exp.Expr) -> tuple[exp.Expr, tuple[CheckDef, ...]]:
    """node unchanged when its target is not a view; else the statement on the view's base
    table and the WITH CHECK OPTION checks to run on new rows."""
    checks: list[CheckDef] = []
    cascaded = False
    for _ in range(32):  # a view over a view over ...: one level per pass
        tbl = _target_table(node)
        rel = b._lookup_relation(tbl.name, tbl.db or None)
        if not isinstance(rel, ViewDef):
            return node, tuple(checks)
        node, check, cascaded = _one_level(b, node, rel, cascaded)
        if check is not None:
            checks.append(check)
    raise FeatureNotSupported("views nest too deeply for an automatic update")


def _lookup(b: Any):
    return lambda t: b._lookup_relation(t.name, t.db or None)


def _one_level(b: Any, node: exp.Expr, view: ViewDef, cascaded: bool) -> tuple[exp.Expr, CheckDef | None, bool]:
    from sqlvec.sql.parse import parse_one_sql

    verb, gerund, word = _VERB[type(node)]
    q = parse_one_sql(view.sql)
    reason = not_updatable_reason(q, _lookup(b))
    if reason is not None:
        raise ObjectNotInPrerequisiteState(
            f'cannot {verb} view "{view.name}"', detail=reason,
            hint=f"To enable {gerund} the view, provide an INSTEAD OF {word} trigger or an unconditional "
                 f"ON {word} DO INSTEAD rule.")
    frm = (q.args.get("from_") or q.args.get("from")).this
    base_rel = b._lookup_relation(frm.name, frm.db or None)
    inner = frm.alias_or_name  # how the view's query names its relation
    tbl = _target_table(node)
    alias = tbl.alias or view.name  # how the statement names the view
    # the view's columns: name -> base column name (updatable) or expression over `alias`
    cols: dict[str, exp.Expr] = {}
    order: list[str] = []
    items: list[tuple[str, exp.Expr]] = []
    for e in q.expressions:
        if isinstance(e, exp.Star) or isinstance(e, exp.Column) and isinstance(e.this, exp.Star):
            names = [c.name for c in base_rel.columns] if isinstance(base_rel, TableDef) else \
                _view_columns(b, base_rel)
            items.extend((n, exp.column(n, inner)) for n in names)
        else:
            items.append((e.alias_or_name, e.this if isinstance(e, exp.Alias) else e))
    for i, (name, e) in enumerate(items):
        name = view.column_names[i] if i < len(view.column_names) else name
        cols[name] = _requalify(e.copy(), inner, alias)
        order.append(name)
    where = q.args.get("where")
    vwhere = _requalify(where.this.copy(), inner, alias) if where is not None else None

    hidden = {c.name for c in base_rel.columns} - set(cols) if isinstance(base_rel, TableDef) else set()
    others = bool(node.args.get("from_") or node.args.get("from") or node.args.get("using"))

    def subst(e: exp.Expr | None) -> exp.Expr | None:
        if e is None:
            return None

        def fn(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.Column) and not isinstance(n.this, exp.Star) \
                    and (not n.table or n.table == alias):
                if n.name in cols:
                    return cols[n.name].copy()
                if n.name in hidden and (n.table or not others) and n.find_ancestor(exp.Select) is None:
                    raise UndefinedColumn(f'column "{n.name}" does not exist')
            return n
        return e.transform(fn)

    def base_column(name: str, what: str) -> str:
        if name not in cols:
            raise UndefinedColumn(f'column "{name}" of relation "{view.name}" does not exist')
        e = cols[name]
        if not isinstance(e, exp.Column):
            raise FeatureNotSupported(
                f'cannot {what} column "{name}" of view "{view.name}"',
                detail="View columns that are not columns of their base relation are not updatable.")
        return e.name

    new_tbl = exp.Table(this=exp.to_identifier(frm.name), db=frm.args.get("db"),
                        alias=exp.TableAlias(this=exp.to_identifier(alias)))
    ret = node.args.get("returning")
    if ret is not None:
        outs = []
        for e in ret.expressions:
            if isinstance(e, exp.Star):
                outs.extend(exp.alias_(cols[n].copy(), n) for n in order)
            else:
                outs.append(exp.alias_(subst(e.copy()), e.alias_or_name) if not isinstance(e, exp.Alias)
                            else exp.alias_(subst(e.this.copy()), e.alias))
        # RETURNING binds over the table's own columns: unqualified
        ret = exp.Returning(expressions=outs).transform(
            lambda n: exp.column(n.name) if isinstance(n, exp.Column) and n.table == alias else n)
    if isinstance(node, exp.Insert):
        if node.args.get("conflict") is not None:
            raise FeatureNotSupported("INSERT ... ON CONFLICT into a view is not supported")
        target = node.this
        names = [i.name for i in target.expressions] if isinstance(target, exp.Schema) and target.expressions \
            else order[:_width(node.expression, len(order))]
        base_names = [base_column(n, "insert into") for n in names]
        out = node.copy()
        out.set("this", exp.Schema(this=exp.Table(this=exp.to_identifier(frm.name), db=frm.args.get("db")),
                                   expressions=[exp.to_identifier(n) for n in base_names]))
        out.set("returning", ret)
    elif isinstance(node, exp.Update):
        out = node.copy()
        out.set("this", new_tbl)
        sets = []
        for eq in node.expressions:
            if isinstance(eq.this, exp.Tuple):
                raise FeatureNotSupported("UPDATE of a view with SET (...) = (...) is not supported")
            target = eq.this.this if isinstance(eq.this, exp.Bracket) else eq.this
            col = exp.column(base_column(target.name, "update"))
            lhs = eq.this.copy()
            if isinstance(lhs, exp.Bracket):
                lhs.set("this", col)
            else:
                lhs = col
            sets.append(exp.EQ(this=lhs, expression=subst(eq.expression.copy())))
        out.set("expressions", sets)
        out.set("where", _and_where(vwhere, subst(node.args["where"].this.copy()) if node.args.get("where") else None))
        out.set("returning", ret)
    else:
        out = node.copy()
        out.set("this", new_tbl)
        out.set("where", _and_where(vwhere, subst(node.args["where"].this.copy()) if node.args.get("where") else None))
        out.set("returning", ret)
    check = None
    opt = view.check_option
    if (opt or cascaded) and vwhere is not None and not isinstance(node, exp.Delete):
        text = _requalify(where.this.copy(), inner, None).sql(dialect="postgres")
        check = CheckDef(view.name, text, view=True)
    return out, check, cascaded or opt == "cascaded"


def _width(src: exp.Expr | None, default: int) -> int:
    """How many columns an INSERT's source gives (the view's leading columns take them)."""
    if isinstance(src, exp.Values) and src.expressions:
        first = src.expressions[0]
        return len(first.expressions) if isinstance(first, exp.Tuple) else 1
    if isinstance(src, exp.Select) and not any(isinstance(e, exp.Star) for e in src.expressions):
        return len(src.expressions)
    return default


def _and_where(a: exp.Expr | None, c: exp.Expr | None) -> exp.Where | None:
    if a is None and c is None:
        return None
    if a is None or c is None:
        return exp.Where(this=a if c is None else c)
    return exp.Where(this=exp.and_(exp.Paren(this=a), exp.Paren(this=c)))


def _requalify(e: exp.Expr, old: str, new: str | None) -> exp.Expr:
    """Column references to relation `old` (or unqualified) re-pointed at `new` (None: unqualified)."""
    def fn(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Column) and not isinstance(n.this, exp.Star) and (not n.table or n.table == old) \
                and n.find_ancestor(exp.Subquery, exp.Select) is None:
            return exp.column(n.name, new) if new else exp.column(n.name)
        return n
    if isinstance(e, exp.Column):
        return fn(e)
    return e.transform(fn)


def _view_columns(b: Any, v: ViewDef) -> list[str]:
    from sqlvec.sql.binder import BindContext, Binder
    from sqlvec.sql.parse import parse_one_sql

    plan = Binder(BindContext(b.ctx.catalog, b.regs, b.ctx.search_path)).bind_query(parse_one_sql(v.sql))
    return [v.column_names[i] if i < len(v.column_names) else f.name for i, f in enumerate(plan.fields)]


def check_view_definition(b: Any, q: exp.Expr, option: str | None) -> None:
    """CREATE VIEW ... WITH CHECK OPTION needs an automatically updatable view (0A000)."""
    if option is None:
        return
    reason = not_updatable_reason(q, _lookup(b))
    if reason is not None:
        raise FeatureNotSupported("WITH CHECK OPTION is supported only on automatically updatable views",
                                  hint=reason)
