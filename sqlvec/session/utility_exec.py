"""Statement dispatch for a Session: utilities (SET/SHOW/PREPARE...), DDL, DML and queries."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from sqlvec.catalog.objects import RoleDef
from sqlvec.core import types as T
from sqlvec.core.errors import (
    FeatureNotSupported,
    InvalidSqlStatementName,
    SqlError,
)
from sqlvec.core.results import Column, Command, Result, Rows
from sqlvec.exec import ddl as D
from sqlvec.exec import dml as M
from sqlvec.exec import matview
from sqlvec.exec.budget import collect_result
from sqlvec.exec.operators import ExecContext, schema_of
from sqlvec.exec.stream import ResultStream, streamable
from sqlvec.plan import logical as L
from sqlvec.session import memory_setting as MS
from sqlvec.session import txn_modes as TM
from sqlvec.sql import utility as UT
from sqlvec.sql.alter_storage_stmt import AlterStorageStmt
from sqlvec.sql.bind_dml import bind_delete, bind_insert, bind_update
from sqlvec.sql.binder import BindContext, Binder
from sqlvec.sql.reindex_stmt import ReindexStmt

QUERY_NODES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Values, exp.Subquery)


def _text_rows(name: str, values: list[str]) -> Rows:
    col = Column(name, T.TEXT)
    batch = pa.RecordBatch.from_arrays([pa.array(values, pa.string())], names=[name])
    return Rows([col], iter([batch]), "SHOW")


def _memory_limit(s: Any, node: Any) -> Result:
    MS.set_limit(s.db, s.user, node.value if isinstance(node, UT.SetStmt) else None)
    return Command("SET" if isinstance(node, UT.SetStmt) else "RESET")


def run_session_utility(s: Any, node: Any) -> Result:
    if isinstance(node, UT.SetStmt | UT.ResetStmt) and (node.name or "").lower() == MS.NAME:
        return _memory_limit(s, node)  # database-wide, not per session (SHOW reads it as usual)
    if isinstance(node, UT.SetStmt | UT.ResetStmt) and node.name == "session_authorization":
        value = node.value if isinstance(node, UT.SetStmt) else None
        if value is not None and value != s.user:  # (no identity switch: roles and privileges)
            raise FeatureNotSupported("SET SESSION AUTHORIZATION to another role is not supported")
        s.settings.set("session_authorization", s.user)
        return Command("SET" if isinstance(node, UT.SetStmt) else "RESET")
    if isinstance(node, UT.SetStmt):
        if node.local and s.txn is None:  # PostgreSQL: a warning, and nothing changes
            before = dict(s.settings.values)
            s.settings.set(node.name, node.value)  # (still checked: 42704 name, 22023 value)
            s.settings.values = before
            s.notice("SET LOCAL can only be used in transaction blocks", "WARNING", "25P01")
            return Command("SET")
        if not TM.set_mode(s, node.name, node.value):  # transaction modes: session/txn_modes.py
            s.settings.set(node.name, node.value, node.local)  # LOCAL: until the block ends
        return Command("SET")
    if isinstance(node, UT.SetTransactionStmt):
        TM.set_transaction(s, node)
        return Command("SET")
    if isinstance(node, UT.ResetStmt):
        if node.name is None:
            _reset_all(s)
        elif not TM.set_mode(s, node.name, None):
            s.settings.set(node.name, None)
        return Command("RESET")
    if isinstance(node, UT.ShowStmt):
        if node.name == "all":
            items = [(k, s.settings.get(k)) for k, _ in s.settings.all()]  # as SHOW k prints each
            batch = pa.RecordBatch.from_arrays(
                [pa.array([k for k, _ in items]), pa.array([v for _, v in items]), pa.array([""] * len(items))],
                names=["name", "setting", "description"])
            return Rows([Column("name", T.TEXT), Column("setting", T.TEXT), Column("description", T.TEXT)],
                        iter([batch]), "SHOW")
        spec = s.settings.spec(node.name)
        value = s.settings.get(node.name)
        return _text_rows(spec.name if spec else node.name, [value])
    if isinstance(node, UT.PrepareStmt):
        from sqlvec.sql.bind_expr import type_from_ast
        from sqlvec.sql.parse import parse_sql

        oids = []
        for tn in node.type_names:
            cast = parse_sql(f"select null::{tn}")[0].expressions[0]
            oids.append(type_from_ast(cast.args["to"], s.db.regs.types).oid)
        s.prepare(node.query, oids, node.name)
        return Command("PREPARE")
    if isinstance(node, UT.ExecuteStmt):
        ps = s.prepared.get(node.name)
        if ps is None:
            raise InvalidSqlStatementName(f'prepared statement "{node.name}" does not exist')
        values = _eval_args(s, node.args, ps.param_types)
        return s.run(ps.ast, values, ps.sql, ps)
    if isinstance(node, UT.DeallocateStmt):
        if node.name is None:
            s.prepared = {k: v for k, v in s.prepared.items() if k == ""}
        elif node.name not in s.prepared:
            raise InvalidSqlStatementName(f'prepared statement "{node.name}" does not exist')
        else:
            del s.prepared[node.name]
        return Command("DEALLOCATE ALL" if node.name is None else "DEALLOCATE")
    if isinstance(node, UT.DiscardStmt):
        if node.what == "all":
            if s.txn is not None:
                from sqlvec.core.errors import ActiveSqlTransaction

                raise ActiveSqlTransaction("DISCARD ALL cannot run inside a transaction block")
            _discard_all(s)
        elif node.what == "sequences":
            s.seq_values.clear()  # currval() is undefined again
        return Command(f"DISCARD {node.what.upper()}")
    if isinstance(node, UT.NoopStmt):
        return Command(node.tag)
    raise FeatureNotSupported(f"unsupported statement {type(node).__name__}")


def _discard_all(s: Any) -> None:
    """DISCARD ALL as PostgreSQL: CLOSE ALL, RESET ALL, DEALLOCATE ALL, UNLISTEN *, DISCARD
    SEQUENCES (a pooler's reset between two clients)."""
    from sqlvec.session.notify import hub
    from sqlvec.session.session import _close_portal

    _reset_all(s)
    s.prepared = {}
    portals, s.portals = s.portals, {}
    for p in portals.values():  # WITH HOLD cursors too: their snapshots are released
        _close_portal(p)
    hub(s.db).unlisten(s, None)
    s.__dict__.pop("notifications", None)
    s.seq_values.clear()


def _reset_all(s: Any) -> None:
    """RESET ALL: every setting back to its default; an open block keeps its modes."""
    kept = {k: s.settings.values[k] for k in TM.MODES}
    s.settings.reset_all()
    if s.txn is not None:
        s.settings.values.update(kept)
    else:
        TM.reset(s)


def _eval_args(s: Any, args: tuple[str, ...], types: list) -> list[Any]:
    from sqlvec.sql.parse import parse_sql

    if len(args) != len(types):
        from sqlvec.core.errors import SyntaxError_

        raise SyntaxError_(f"wrong number of parameters for prepared statement: expected {len(types)}, got {len(args)}")
    out = []
    txn = s.db.store.begin()
    try:
        b = Binder(BindContext(s.db.catalog(txn), s.db.regs, s.settings.search_path(s.user)))
        from sqlvec.sql.scope import Scope

        for a, t in zip(args, types):
            e = b.coerce(b.bind_expr(parse_sql("select " + a)[0].expressions[0], Scope()), t)
            ctx = ExecContext(txn, s.db.regs)
            one = pa.RecordBatch.from_arrays([pa.array([0])], names=["_"])
            out.append(ctx.evaluator.eval(e, one)[0].as_py())
    finally:
        txn.rollback()
    return out


def bind_statement(s: Any, txn: Any, node: Any, param_types: list) -> tuple[L.Plan | None, Binder]:
    """The statement's plan (None: not a query or DML) and its binder; where it scans a
    table with vector indexes on expressions, the expressions read their stored values."""
    plan, b = _bind_statement(s, txn, node, param_types)
    if plan is not None and b.ctx.derived:
        from sqlvec.plan.index_expressions import read_index_expressions

        plan = read_index_expressions(plan)
    return plan, b


def _bind_statement(s: Any, txn: Any, node: Any, param_types: list) -> tuple[L.Plan | None, Binder]:
    ctx = BindContext(s.db.catalog(txn), s.db.regs, s.settings.search_path(s.user),
                      seq_values=s.seq_values)
    b = Binder(ctx, param_types)
    if isinstance(node, QUERY_NODES):
        return b.bind_query(node), b
    if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Merge) and node.args.get("with_"):
        b._bind_with(node.args["with_"], None)
        inner = node.copy()
        inner.set("with_", None)
        plan, _ = bind_statement_with(b, inner)
        return L.WithCtes(tuple(b.cte_plans), plan), b
    if isinstance(node, exp.Insert):
        return bind_insert(b, node), b
    if isinstance(node, exp.Update):
        return bind_update(b, node), b
    if isinstance(node, exp.Delete):
        return bind_delete(b, node), b
    if isinstance(node, exp.Merge):
        from sqlvec.sql.bind_dml import bind_merge

        return bind_merge(b, node), b
    return None, b


def bind_statement_with(b: Binder, node: Any) -> tuple[L.Plan, Binder]:
    """Bind a DML statement with an existing binder (its CTEs already in scope)."""
    from sqlvec.sql.bind_dml import bind_merge

    f = {exp.Insert: bind_insert, exp.Update: bind_update, exp.Delete: bind_delete,
         exp.Merge: bind_merge}[type(node)]
    return f(b, node), b


def plan_columns(plan: L.Plan) -> list[Column] | None:
    if isinstance(plan, L.WithCtes) and _is_dml(plan.body):
        return _cols(plan.body)
    return _cols(plan)


def _is_dml(plan: L.Plan) -> bool:
    return isinstance(plan, L.Insert | L.Update | L.Delete | L.Merge)


def _cols(plan: L.Plan) -> list[Column] | None:
    if isinstance(plan, L.Insert | L.Update | L.Delete | L.Merge):
        if plan.returning is None:
            return None
    return [Column(f.name, f.type if f.type.short != "unknown" else T.TEXT, f.table_oid, f.attnum)
            for f in plan.fields]


def describe(s: Any, txn: Any, node: Any, types: list) -> tuple[list, list[Column] | None]:
    """Parameter types and result columns of a statement (Parse/Describe)."""
    if isinstance(node, UT.ShowStmt):
        spec = s.settings.spec(node.name)
        return [], [Column(spec.name if spec else node.name, T.TEXT)]
    if isinstance(node, UT.ExecuteStmt):
        ps = s.prepared.get(node.name)
        return [], ps.columns if ps else None
    if isinstance(node, UT.ExplainStmt):  # the explained statement's parameters, one column
        from sqlvec.sql.parse import parse_statement

        params = list(types)
        _plan, b = bind_statement(s, txn, parse_statement(node.query), params)
        return _final_types(b.params), [Column(_PLAN_COLUMN, T.TEXT)]
    if not isinstance(node, exp.Expr):
        return [], None
    if isinstance(node, exp.Select) and node.args.get("into") is not None:
        node = select_into_as_create(node)  # no rows: NoData, as PostgreSQL
    params = list(types)
    plan, b = bind_statement(s, txn, node, params)
    return _final_types(b.params), plan_columns(plan) if plan is not None else None


def _final_types(params: list) -> list:
    """Inferred parameter types, text where nothing said (PostgreSQL's unknown -> text)."""
    return [t if t is not None and t.short != "unknown" else T.TEXT for t in params]


def run_in_txn(s: Any, txn: Any, node: Any, params: list[Any], stmt: Any) -> Result:
    hit = stmt.plan_cache.get("generic") if stmt is not None else None
    if hit is not None:  # a prepared query with its generic plan: fill the parameter slots, run
        values = s.settings.values
        disabled = values.get("sqlvec.disabled_rules", "")
        if hit[0] == (s.db.ddl_gen, values.get("search_path"), s.user, disabled):
            ctx = ExecContext(txn, s.db.regs, params, s.cancel_event, s)
            ctx.decorrelate = "decorrelate_subqueries" not in disabled
            return execute_plan(ctx, hit[1], hit[2])
    if isinstance(node, UT.ExplainStmt):
        return _explain(s, txn, node, params, stmt)
    if isinstance(node, UT.RoleStmt):
        return _role(s, txn, node)
    if isinstance(node, exp.Create | exp.Drop | exp.TruncateTable | exp.Alter):
        return _ddl(s, txn, node)
    if isinstance(node, exp.Select) and node.args.get("into") is not None:
        return _ddl(s, txn, select_into_as_create(node))  # tag SELECT n, as PostgreSQL
    if isinstance(node, ReindexStmt):
        return _reindex(s, txn, node)
    if isinstance(node, AlterStorageStmt):
        return _ddl(s, txn, node)
    if isinstance(node, UT.SetConstraintsStmt):  # deferred foreign key checks: exec/fk_deferred.py
        from sqlvec.exec.fk_deferred import set_constraints

        if s.txn is None:
            s.notice("SET CONSTRAINTS can only be used in transaction blocks", "WARNING", "25P01")
        set_constraints(txn, s.db.regs, s.settings.search_path(s.user), node.names, node.deferred)
        return Command("SET CONSTRAINTS")
    if isinstance(node, exp.Command) and str(node.this).upper() == "REFRESH":
        s.db.ddl_gen += 1
        s.did_ddl = True
        runner = D.DdlRunner(s.db.catalog(txn), s.db.regs, s.settings.search_path(s.user))
        runner.notice = s.notice
        return Command(matview.refresh(runner, node.expression.name if node.expression is not None else "",
                                       _query_rows(s, txn)))
    if isinstance(node, exp.Command) and str(node.this).upper() == "LOCK":
        if s.txn is None:
            from sqlvec.core.errors import NoActiveSqlTransaction

            raise NoActiveSqlTransaction("LOCK TABLE can only be used in transaction blocks")
        return Command("LOCK TABLE")  # single-writer storage: table locks have nothing to add
    if isinstance(node, exp.Command):
        from sqlvec.catalog.system.extensions import extension_command

        tag = extension_command(s.db.catalog(txn), f"{node.this} {node.expression}")
        if tag is not None:
            return Command(tag)
        raise FeatureNotSupported(f'syntax not supported: "{node.name}"')
    param_types = list(stmt.param_types) if stmt is not None else [None] * len(params)
    disabled = s.settings.values.get("sqlvec.disabled_rules", "")
    key = (s.db.ddl_gen, s.settings.values.get("search_path"), s.user, disabled)
    cache = stmt.plan_cache if stmt is not None else s.db.simple_plan_slot(node)
    hit = cache.get("generic") if cache is not None else None
    if hit is not None and hit[0] == key:  # the generic plan: parameter slots filled per execution
        ctx = ExecContext(txn, s.db.regs, params, s.cancel_event, s)
        ctx.decorrelate = "decorrelate_subqueries" not in disabled
        return execute_plan(ctx, hit[1], hit[2])
    if cache is not None and cache.get("key") == key:
        plan = cache["plan"]
    else:
        plan, binder = bind_statement(s, txn, node, param_types)
        if plan is None:
            if isinstance(node, exp.Comment):
                return Command("COMMENT")
            raise FeatureNotSupported(f"statement not supported: {node.key.upper()}")
        if len(binder.params) > len(params):
            from sqlvec.core.errors import UndefinedParameter

            raise UndefinedParameter(f"there is no parameter ${len(params) + 1}")
        from sqlvec.plan.optimizer import optimize

        plan = optimize(plan, disabled)
        from sqlvec.plan.numeric_display import show_numeric_scale

        plan = show_numeric_scale(plan, s.db.regs)  # result columns print each numeric's own scale
        if cache is not None and cacheable(plan, prepared=stmt is not None):
            cache["key"], cache["plan"] = key, plan
            # one tuple, replaced whole: sessions sharing a simple-query slot never see a mix
            query = not (_is_dml(plan) or isinstance(plan, L.WithCtes) and _is_dml(plan.body))
            cache["generic"] = (key, plan, query_shape(plan) if query else None)
    ctx = ExecContext(txn, s.db.regs, params, s.cancel_event, s)
    ctx.decorrelate = "decorrelate_subqueries" not in disabled
    return execute_plan(ctx, plan)


def query_shape(plan: L.Plan) -> tuple[list[Column], bool, bool]:
    """What a cached query plan's executions need to know about its result up front: its
    columns, whether it streams, and whether a column is reg* (printed as names in text)."""
    from sqlvec.catalog.system.regcast import REG_OIDS  # what reg_output rewrites

    cols = plan_columns(plan) or []
    return cols, streamable(plan), any(c.type.oid in REG_OIDS for c in cols)


def execute_plan(ctx: ExecContext, plan: L.Plan, shape: tuple | None = None) -> Result:
    """Run a bound, optimised plan; `shape` is query_shape(plan), known for a cached query
    plan so it is not worked out again per execution."""
    ex = ctx.executor
    if shape is not None:  # a cached query (a cached INSERT has no shape)
        cols, stream = shape[0], shape[1]
        if stream:
            return Rows(list(cols), ResultStream(ctx, ex.run(plan)), "SELECT")
        _, batches = collect_result(ctx, ex.run(plan))
        return Rows(list(cols), batches, "SELECT")
    if isinstance(plan, L.WithCtes) and _is_dml(plan.body):
        ex.materialize_ctes(plan)
        plan = plan.body
    if isinstance(plan, L.Merge):
        count, _ = M.run_merge(ex, plan)
        return Command(f"MERGE {count}")
    if isinstance(plan, L.Insert | L.Update | L.Delete):
        runner = {L.Insert: M.run_insert, L.Update: M.run_update, L.Delete: M.run_delete}[type(plan)]
        count, ret = runner(ex, plan)
        verb = {L.Insert: "INSERT", L.Update: "UPDATE", L.Delete: "DELETE"}[type(plan)]
        if ret is None:
            return Command(f"INSERT 0 {count}" if verb == "INSERT" else f"{verb} {count}")
        cols = plan_columns(plan) or []
        batches = ret.combine_chunks().to_batches() or [schema_of(plan).empty_table().to_batches()]
        return Rows(cols, iter([b for b in batches if isinstance(b, pa.RecordBatch)]), verb)
    if streamable(plan):  # computed as the client reads (the session ends its transaction)
        return Rows(plan_columns(plan) or [], ResultStream(ctx, ex.run(plan)), "SELECT")
    _, batches = collect_result(ctx, ex.run(plan))  # 53200 when over sqlvec.memory_limit
    return Rows(plan_columns(plan) or [], batches, "SELECT")


def cacheable(plan: L.Plan, prepared: bool = False) -> bool:
    """Plans of prepared queries are reused unless they hold transaction-bound functions; of
    DML, only a prepared INSERT ... VALUES (executemany: bound once, parameters filled per row)."""
    from sqlvec.exec.builtins import NextvalFunction
    from sqlvec.plan.walk import plan_exprs

    if _is_dml(plan):
        if not (prepared and isinstance(plan, L.Insert) and _values_only(plan.source)):
            return False
    elif isinstance(plan, L.WithCtes) and any(_is_dml(c[1]) for c in plan.ctes):
        return False
    return not any(isinstance(getattr(e, "fn", None), NextvalFunction) for e in plan_exprs(plan))


def _values_only(plan: L.Plan) -> bool:
    """A VALUES list, possibly under projections (no scans, no subqueries)."""
    from sqlvec.plan import expr as E
    from sqlvec.plan.walk import plan_exprs

    while isinstance(plan, L.Project):
        plan = plan.input
    if not isinstance(plan, L.Values):
        return False
    return not any(isinstance(e, E.Subquery) for e in plan_exprs(plan))


def _ddl(s: Any, txn: Any, node: Any) -> Result:
    s.db.ddl_gen += 1
    s.did_ddl = True
    runner = D.DdlRunner(s.db.catalog(txn), s.db.regs, s.settings.search_path(s.user))
    runner.notice = s.notice  # CREATE INDEX reports long vector index builds
    if isinstance(node, exp.Create):
        kind = (node.args.get("kind") or "").upper()
        if kind == "TABLE" and node.expression is not None:
            return _create_table_as(s, txn, node, runner)
        if matview.is_matview(node):
            return Command(matview.create(runner, node, _query_rows(s, txn)))
        return Command(runner.create(node))
    if isinstance(node, exp.Drop):
        return Command(runner.drop(node))
    if isinstance(node, exp.Alter):
        return Command(runner.alter(node))
    if isinstance(node, AlterStorageStmt):
        return Command(runner.alter_storage(node))
    return Command(runner.truncate(node))


def select_into_as_create(node: exp.Select) -> exp.Create:
    """SELECT ... INTO [TEMP] t FROM ... is CREATE TABLE t AS SELECT ... FROM ...

    >>> from sqlvec.sql.parse import parse_statement
    >>> select_into_as_create(parse_statement("select a into t2 from t", 0)).sql()
    'CREATE TABLE t2 AS SELECT a FROM t'
    """
    query = node.copy()
    into = query.args["into"]
    query.set("into", None)
    return exp.Create(this=into.this, kind="TABLE", expression=query)


def _reindex(s: Any, txn: Any, node: ReindexStmt) -> Result:
    """REINDEX (exec/reindex.py): INDEX and TABLE in the session's transaction; SCHEMA,
    DATABASE, SYSTEM and CONCURRENTLY only outside a transaction block, as PostgreSQL."""
    from sqlvec.core.errors import ActiveSqlTransaction
    from sqlvec.exec.reindex import reindex

    if s.txn is not None and (node.concurrently or node.what in ("schema", "database", "system")):
        what = "CONCURRENTLY" if node.concurrently else node.what.upper()
        raise ActiveSqlTransaction(f"REINDEX {what} cannot run inside a transaction block")
    if node.concurrently and node.what == "system":
        raise FeatureNotSupported("cannot reindex system catalogs concurrently")
    s.db.ddl_gen += 1
    s.did_ddl = True
    runner = D.DdlRunner(s.db.catalog(txn), s.db.regs, s.settings.search_path(s.user))
    runner.notice = s.notice
    schema, name = node.name if node.name is not None else (None, None)
    reindex(runner, node.what, schema, name, s.database)
    return Command("REINDEX")


def _query_rows(s: Any, txn: Any):
    """A function query -> (its fields, its rows as one pa.Table), bound and run in txn."""
    from sqlvec.exec.operators import to_table

    def run(query: exp.Expr) -> tuple:
        plan, _ = bind_statement(s, txn, query, [])
        ctx = ExecContext(txn, s.db.regs, [], s.cancel_event, s)
        return plan.fields, to_table(plan, ctx.executor.run(plan))

    return run


def _create_table_as(s: Any, txn: Any, node: exp.Create, runner: D.DdlRunner) -> Result:
    from sqlvec.catalog.objects import ColumnDef, TableDef

    plan, _ = bind_statement(s, txn, node.expression, [])
    from sqlvec.sql.bind_dml import check_dims

    for f in plan.fields:  # a column of the new table is one-dimensional (issue 3)
        check_dims(f.type, f.type.base_element)
    target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    names = [e.name for e in node.this.expressions] if isinstance(node.this, exp.Schema) else []
    cols = tuple(ColumnDef(names[i] if i < len(names) else f.name,
                           (f.type if f.type.short != "unknown" else T.TEXT).oid, f.type.typmod)
                 for i, f in enumerate(plan.fields))
    cat = s.db.catalog(txn)
    schema = runner.schema_for(target)
    if node.args.get("exists") and cat.relation(schema, target.name) is not None:
        return Command("CREATE TABLE AS")
    t = TableDef(cat.new_oid(), schema, target.name, cols)
    cat.create_table(t, D.arrow_schema(t, s.db.regs))
    props = node.args.get("properties")
    if props is not None and any(isinstance(p, exp.WithDataProperty) and p.args.get("no")
                                 for p in props.expressions):  # WITH NO DATA: columns only
        return Command("CREATE TABLE AS")
    ctx = ExecContext(txn, s.db.regs, [], s.cancel_event, s)
    from sqlvec.exec.operators import to_table

    data = to_table(plan, ctx.executor.run(plan))
    from sqlvec.core.textio_numeric import fit_to  # numeric rounded to the column's scale, 22003

    schema = D.arrow_schema(t, s.db.regs)
    data = pa.Table.from_arrays([fit_to(c, f.type) for c, f in zip(data.columns, schema)], schema=schema) \
        if data.num_rows else None
    n = 0
    if data is not None:
        txn.insert(t.oid, data)
        n = data.num_rows
    return Command(f"SELECT {n}")


def _role(s: Any, txn: Any, node: UT.RoleStmt) -> Result:
    cat = s.db.catalog(txn)
    opts = dict(node.options)
    if "password" in opts and opts["password"] is not None:
        opts["password"] = _verifier(opts["password"])
    if node.action == "create":
        r = RoleDef(cat.new_oid(), node.name, login=bool(opts.get("login", False)),
                    superuser=bool(opts.get("superuser", False)), createdb=bool(opts.get("createdb", False)),
                    createrole=bool(opts.get("createrole", False)), password=opts.get("password"))
        cat.put_role(r, create=True)
        return Command("CREATE ROLE")
    if node.action == "drop":
        cat.drop_role(node.name, node.if_exists)
        return Command("DROP ROLE")
    r = cat.role(node.name)
    if r is None:
        from sqlvec.core.errors import UndefinedObject

        raise UndefinedObject(f'role "{node.name}" does not exist')
    from dataclasses import replace

    fields = {k: v for k, v in opts.items() if k in ("login", "superuser", "createdb", "createrole", "password")}
    cat.put_role(replace(r, **fields))
    return Command("ALTER ROLE")


def _verifier(password: str) -> str:
    if password.startswith(("SCRAM-SHA-256$", "md5")):
        return password
    try:
        from sqlvec.core.passwords import make_scram_verifier
    except ImportError as e:  # pragma: no cover - wire engineer's module
        raise FeatureNotSupported("password hashing is not available") from e
    return make_scram_verifier(password)


_PLAN_COLUMN = "QUERY PLAN"


def _explain(s: Any, txn: Any, node: UT.ExplainStmt, params: list[Any], stmt: Any) -> Result:
    from sqlvec.plan.explain import explain_text
    from sqlvec.plan.optimizer import optimize
    from sqlvec.sql.parse import parse_statement

    inner = parse_statement(node.query)
    types = list(stmt.param_types) if stmt is not None and len(stmt.param_types) == len(params) \
        else [None] * len(params)  # (as Parse inferred them: the values were decoded so)
    plan, _ = bind_statement(s, txn, inner, types)
    if plan is None:
        raise FeatureNotSupported("EXPLAIN of this statement is not supported")
    plan = optimize(plan, s.settings.values.get("sqlvec.disabled_rules", ""))
    stats = None
    ctx = ExecContext(txn, s.db.regs, params, s.cancel_event, s)
    if node.analyze:
        from sqlvec.plan.explain import analyze

        stats = analyze(ctx, plan)
    else:  # nothing runs: vector searches say what their execution will choose
        from sqlvec.exec.vector_explain import note_planned

        note_planned(ctx, plan)
    lines = explain_text(plan, stats)
    return _text_rows_query(_PLAN_COLUMN, lines)


def _text_rows_query(name: str, values: list[str]) -> Rows:
    col = Column(name, T.TEXT)
    batch = pa.RecordBatch.from_arrays([pa.array(values, pa.string())], names=[name])
    return Rows([col], iter([batch]), "EXPLAIN")


__all__ = ["SqlError"]
