from sqlvec.core import types as t


def test_registry_names_and_arrays():
    reg = t.default_types()
    assert reg.by_name("int") is t.INT4
    assert reg.by_name("char") is t.BPCHAR
    assert reg.by_oid(1007).element == t.INT4
    assert reg.by_name("_text").display() == "text[]"


def test_display_with_typmod():
    assert t.VARCHAR.with_typmod(14).display() == "character varying(10)"
    assert t.NUMERIC.with_typmod(t.numeric_typmod(10, 2)).display() == "numeric(10,2)"
    assert t.TIMESTAMPTZ.with_typmod(3).display() == "timestamp(3) with time zone"
    assert str(t.NUMERIC.with_typmod(t.numeric_typmod(10, 2)).arrow) == "decimal128(10, 2)"
