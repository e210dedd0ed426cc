"""WITH RECURSIVE ... SEARCH { DEPTH | BREADTH } FIRST BY col SET seq and
CYCLE col SET mark [TO v DEFAULT d] USING path, rewritten into the recursive query's own
columns as PostgreSQL does (rewriteSearchAndCycle):

- DEPTH FIRST: seq is an array of rows, ARRAY[ROW(col)] in the non-recursive term and
  seq || ROW(col) in the recursive one; ORDER BY seq gives the depth-first order.
- BREADTH FIRST: seq is ROW(depth, col): ROW(0, col), then ROW((seq).f1 + 1, col).
- CYCLE: mark starts as the DEFAULT value (false), path as ARRAY[ROW(col)]; the recursive
  term marks a row whose ROW(col) is already on the path with the TO value (true), extends
  the path, and does not recurse from a marked row.

One BY / cycle column (the parser's limit).
"""

from __future__ import annotations

from sqlglot import exp

from sqlvec.core.errors import AmbiguousColumn, FeatureNotSupported, SyntaxError_


def _row(e: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="row", expressions=[e.copy()])


def _col(q: str, name: str) -> exp.Column:
    return exp.Column(this=exp.to_identifier(name), table=exp.to_identifier(q))


def rewrite(cte: exp.Expr, clause: exp.Expr) -> None:
    """Add the SEARCH / CYCLE columns to `cte` (an exp.CTE of WITH RECURSIVE), in place."""
    body = cte.this
    if not isinstance(body, exp.Union) or not isinstance(body.this, exp.Select) \
            or not isinstance(body.expression, exp.Select):
        raise FeatureNotSupported("SEARCH / CYCLE need a recursive query of the form SELECT ... UNION [ALL] SELECT ...")
    base, rec = body.this, body.expression
    name = cte.alias_or_name
    alias = cte.args.get("alias")
    colnames = [c.name for c in alias.columns] if alias is not None and alias.columns else \
        [e.alias_or_name for e in base.expressions]
    kind = str(clause.args.get("kind") or "").upper()
    by = clause.this.name if clause.this is not None else ""
    what = "cycle" if kind == "CYCLE" else "search"
    if by not in colnames:
        raise SyntaxError_(f'{what} column "{by}" not in WITH query column list')
    k = colnames.index(by)
    refs = [t for t in rec.find_all(exp.Table) if t.name == name]
    if len(refs) != 1:
        raise FeatureNotSupported("SEARCH / CYCLE need exactly one reference to the recursive query")
    q = refs[0].alias_or_name
    base_k, rec_k = base.expressions[k].unalias(), rec.expressions[k].unalias()
    setcol = clause.expression.name
    if setcol in colnames:  # as PostgreSQL 15 reports it
        raise AmbiguousColumn(f'column reference "{setcol}" is ambiguous')
    added: list[tuple[str, exp.Expr, exp.Expr]] = []
    if kind == "DEPTH":
        added.append((setcol, exp.Array(expressions=[_row(base_k)]), exp.DPipe(this=_col(q, setcol), expression=_row(rec_k))))
    elif kind == "BREADTH":
        zero = exp.Cast(this=exp.Literal.number(0), to=exp.DataType.build("bigint"))
        depth = exp.Dot(this=exp.Paren(this=_col(q, setcol)), expression=exp.to_identifier("f1"))
        nxt = exp.Anonymous(this="row", expressions=[exp.Add(this=depth, expression=exp.Literal.number(1)), rec_k.copy()])
        added.append((setcol, exp.Anonymous(this="row", expressions=[zero, base_k.copy()]), nxt))
    elif kind == "CYCLE":
        using = clause.args.get("using")
        path = using.name if isinstance(using, exp.Expr) else ""
        if not path:
            raise SyntaxError_('syntax error at or near "CYCLE"')
        to = clause.args.get("to")
        default = clause.args.get("default")
        to_v = to if isinstance(to, exp.Expr) else exp.true()
        default_v = default if isinstance(default, exp.Expr) else exp.false()
        on_path = exp.EQ(this=_row(rec_k), expression=exp.Any(this=_col(q, path)))
        mark = exp.Case(ifs=[exp.If(this=on_path, true=to_v.copy())], default=default_v.copy())
        added.append((setcol, default_v.copy(), mark))
        added.append((path, exp.Array(expressions=[_row(base_k)]), exp.DPipe(this=_col(q, path), expression=_row(rec_k))))
        rec.where(exp.NEQ(this=_col(q, setcol), expression=to_v.copy()), append=True, copy=False)
    else:
        raise FeatureNotSupported(f"{kind} is not supported")
    for col, b, r in added:
        base.append("expressions", exp.alias_(b, col) if not (alias is not None and alias.columns) else b)
        rec.append("expressions", r)
        if alias is not None and alias.columns:
            alias.append("columns", exp.to_identifier(col))
