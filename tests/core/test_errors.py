from sqlvec.core import errors


def test_every_sqlstate_has_one_class():
    owners: dict[str, type] = {}
    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, errors.SqlError) and value is not errors.SqlError:
            assert value.sqlstate.value not in owners, (value, owners.get(value.sqlstate.value))
            owners[value.sqlstate.value] = value


def test_error_class_lookup():
    assert errors.error_class("23505") is errors.UniqueViolation
    assert errors.error_class(errors.SqlState.SYNTAX_ERROR) is errors.SyntaxError_
    assert errors.error_class("99999") is errors.SqlError


def test_fields():
    e = errors.UndefinedTable('relation "t" does not exist', position=15)
    assert e.code == "42P01" and e.position == 15 and str(e) == 'relation "t" does not exist'
