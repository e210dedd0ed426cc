"""Array = <> < > as PostgreSQL's array_eq / array_cmp (element equality: 1.0 = 1.00,
'1 day' = '24 hours', -0 = 0, NaN = NaN; order element by element, NaN above Infinity,
NULL elements last; 2-D arrays), and text -> varchar(n)[] / char(n)[] of 2-D and 3-D
literals cut per element; against PostgreSQL 15."""

from __future__ import annotations

import pytest

import sqlvec

QUERIES = [
    "select array[1.0::numeric, 2] = array[1::numeric, 2.000], array[1.0::numeric] < array[1.00::numeric, 0]",
    "select array[interval '1 day'] = array[interval '24 hours'], array[interval '1 mon'] = array[interval '30 days']",
    "select array[interval '1 day'] < array[interval '25 hours'], array[interval '1 mon'] > array[interval '29 days']",
    "select array['-0'::float8] = array['0'::float8], array['NaN'::float8] = array['NaN'::float8]",
    "select array['NaN'::float8] > array['Infinity'::float8], array['-0'::float8] < array['0'::float8]",
    "select array[1,null] = array[1,null], array[1,null] < array[1,2], array[1,2] < array[1,2,3]",
    "select array[[1,2],[3,4]] = array[1,2,3,4], array[[1,2],[3,4]] < array[[1,2],[3,5]]",
    "select array['a',null] < array['a','b'], array[]::int[] < array[1], null::int[] = array[1]",
    "select count(distinct x) from (values (array[interval '1 day']), (array[interval '24 hours'])) v(x)",
    "select x::text, count(*) from (values (array[interval '1 day']), (array[interval '24 hours']), "
    "(array[interval '2 days'])) v(x) group by x order by 2",
    "select count(*) from (values (array[1.5::float8]), (array['-0'::float8]), (array['0'::float8]), "
    "(array['NaN'::float8])) v(x) where x > array[0::float8]",
    "select y::text from (values (array[interval '1 mon']), (array[interval '25 hours']), "
    "(array[interval '1 day'])) v(y) order by v.y",
    "select '{{abc,defg},{h,ijkl}}'::varchar(2)[]::text, '{{abc,defg},{h,ijkl}}'::char(2)[]::text",
    "select '{{{abc}},{{defg}}}'::varchar(1)[]::text, '{{abc,defg}}'::varchar(2)[][]::text",
    "select '{{1.26,2}}'::numeric(3,1)[]::text, array[['abcd']]::char(2)[]::text",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_as_postgresql(pg, sql):
    con = sqlvec.connect()
    cur = con.cursor()
    cur.execute(sql)
    assert [tuple(r) for r in cur.fetchall()] == pg(sql)
    con.close()
