"""SET inside a transaction block is transactional, as in PostgreSQL 15: ROLLBACK (or
ROLLBACK TO a savepoint, or a failed multi-statement string) undoes it, SET LOCAL lasts
until the block ends, SET LOCAL outside a block warns (25P01) and changes nothing. SHOW
prints durations with their unit, DateStyle German means DMY, client_encoding is UTF8 only (22023 otherwise, as at start-up)."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


def show(q, name: str) -> str:
    return q(f"show {name}")[0][0]


def test_rollback_undoes_set_and_commit_keeps_it(q):
    q("begin")
    q("set search_path = public")
    q("set application_name = 'a'")
    assert show(q, "search_path") == "public"
    q("rollback")
    assert (show(q, "search_path"), show(q, "application_name")) == ('"$user", public', "")
    q("begin")
    q("set search_path = public")
    q("commit")
    assert show(q, "search_path") == "public"
    q("begin")
    q("set search_path = x")
    with pytest.raises(SqlError):
        q("select 1/0")
    assert q("commit") == "ROLLBACK"  # a failed block's COMMIT rolls back, its SETs too
    assert show(q, "search_path") == "public"


def test_rollback_to_savepoint_undoes_what_came_after_it(q):
    q("begin")
    q("set search_path = a")
    q("savepoint s1")
    q("set search_path = b")
    q("savepoint s2")
    q("set search_path = c")
    q("rollback to s2")
    assert show(q, "search_path") == "b"
    q("rollback to savepoint s1")
    assert show(q, "search_path") == "a"
    q("release s1")
    q("commit")
    assert show(q, "search_path") == "a"


def test_set_local_lasts_until_the_block_ends(q):
    assert q("set local search_path = public") == "SET"
    assert [(n.code, n.message) for n in q.s.notices()] == [
        ("25P01", "SET LOCAL can only be used in transaction blocks")]
    assert show(q, "search_path") == '"$user", public'
    with pytest.raises(SqlError) as ei:
        q("set local no_such_setting = 1")
    assert ei.value.code == "42704"
    q("begin")
    q("set local statement_timeout = '2min'")
    q("set local search_path = x")
    q("set search_path = y")  # a plain SET after SET LOCAL: COMMIT keeps it
    assert show(q, "statement_timeout") == "2min"
    q("commit")
    assert (show(q, "statement_timeout"), show(q, "search_path")) == ("0", "y")


def test_failed_multi_statement_string_undoes_its_sets(q):
    with pytest.raises(SqlError):
        q("set search_path = x; select 1/0")
    assert show(q, "search_path") == '"$user", public'
    q("set search_path = y; select 1")
    assert show(q, "search_path") == "y"


def test_show_forms_as_postgresql(q):
    for value, shown in (("'1s'", "1s"), ("100", "100ms"), ("'90s'", "90s"), ("60000", "1min"), ("0", "0")):
        q(f"set statement_timeout = {value}")
        assert show(q, "statement_timeout") == shown
    q("set lock_timeout = '5s'")
    assert show(q, "lock_timeout") == "5s"
    assert ("lock_timeout", "5s", "") in q("show all")
    q("set datestyle = 'German'")
    assert show(q, "datestyle") == "German, DMY"
    q("set datestyle = 'SQL, MDY'")
    assert show(q, "datestyle") == "SQL, MDY"
    q("set names 'utf8'")
    assert show(q, "client_encoding") == "UTF8"
    with pytest.raises(SqlError) as ei:
        q("set client_encoding = 'LATIN1'")
    assert ei.value.code == "22023"
    assert show(q, "client_encoding") == "UTF8"


def test_session_authorization_default_and_reset(q):
    assert q("set session authorization default") == "SET"
    assert q("reset session authorization") == "RESET"
    assert q("set session authorization sqlvec") == "SET"
    assert show(q, "session_authorization") == "sqlvec"
    with pytest.raises(SqlError) as ei:  # switching identity is not offered
        q("set session authorization 'bob'")
    assert ei.value.code == "0A000"
    assert show(q, "session_authorization") == "sqlvec"


def test_client_min_messages_filters_notices(q):
    q("drop table if exists nope")
    assert [n.severity for n in q.s.notices()] == ["NOTICE"]
    q("set client_min_messages = warning")
    q("drop table if exists nope")
    q("commit")  # WARNING: no transaction in progress
    assert [n.severity for n in q.s.notices()] == ["WARNING"]
    q("set client_min_messages = error")
    q("commit")
    assert q.s.notices() == []
    with pytest.raises(SqlError) as ei:
        q("set client_min_messages = loud")
    assert ei.value.code == "22023"
