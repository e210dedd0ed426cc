"""The frame decoder: fast paths agree with the general reader; any split of the input works."""

from __future__ import annotations

import random

import pytest

from sqlvec.core.errors import ProtocolViolation
from sqlvec.wire import messages as m
from tests.wire import pgclient as c

BINDS = [
    c.bind(),
    c.bind([b"\x00\x00\x00\x05"], stmt="s1", formats=(1,), result_formats=(1,)),
    c.bind([None, b"abc", b""], portal="p", stmt="s", formats=(0, 1, 0), result_formats=(0, 1)),
    c.bind([b"x" * 70000], stmt="big"),
    c.bind(["é".encode()], portal="pé", stmt="sé"),
]


def decoder() -> m.Decoder:
    d = m.Decoder()
    d.start_regular()
    return d


def decode_all(d: m.Decoder) -> list:
    out = []
    while (msg := d.next()) is not m.NEED_DATA:
        out.append(msg)
    return out


@pytest.mark.parametrize("raw", BINDS)
def test_bind_fast_path_equals_the_general_reader(raw):
    d = decoder()
    d.feed(raw)
    assert d.next() == m.Decoder()._decode("B", raw[5:])


@pytest.mark.parametrize("raw", BINDS[1:3] + [c.execute("p", 10)])
def test_truncated_or_padded_bodies_are_08p01(raw):
    body = raw[5:]
    for cut in range(len(body)):
        for bad in (body[:cut], body[:cut] + b"\x01" + body[cut:]):
            d = decoder()
            d.feed(raw[:1] + (len(bad) + 4).to_bytes(4, "big") + bad)
            try:
                msg = d.next()
            except ProtocolViolation:
                continue
            assert msg == m.Decoder()._decode(chr(raw[0]), bad)  # only what the reader accepts


def test_any_split_of_a_stream_decodes_the_same():
    stream = b"".join(BINDS) + c.execute() + c.SYNC + c.FLUSH + c.query("SELECT 1") + c.SYNC
    d = decoder()
    d.feed(stream)
    whole = decode_all(d)
    assert [type(x).__name__ for x in whole][-6:] == ["Bind", "Execute", "Sync", "Flush", "Query", "Sync"]
    rnd = random.Random(7)
    for _ in range(20):
        d, got, pos = decoder(), [], 0
        while pos < len(stream):
            step = rnd.choice([1, 2, 5, 100, 5000, 80000])
            d.feed(stream[pos:pos + step])
            pos += step
            got += decode_all(d)
        assert got == whole and d.buffered == 0


def test_sync_and_flush_are_shared_constants():
    d = decoder()
    d.feed(c.SYNC + c.FLUSH)
    assert d.next() is m.SYNC and d.next() is m.FLUSH


def test_next_bind_takes_only_a_whole_well_formed_bind():
    """next_bind (the server looking at a connection's next request): a Bind complete in the
    buffer is consumed as next() gives it; anything else, a part of one, or a malformed one
    is left where it was, for next() to read (and report)."""
    d = decoder()
    d.feed(BINDS[1] + c.SYNC)
    assert d.next_bind() == m.Decoder()._decode("B", BINDS[1][5:]) and d.next() is m.SYNC
    d = decoder()
    d.feed(c.SYNC + BINDS[1])
    assert d.next_bind() is None and d.next() is m.SYNC
    d = decoder()
    d.feed(BINDS[1][:-1])
    assert d.next_bind() is None and d.next() is m.NEED_DATA
    body = BINDS[1][5:-2]  # (cut short: the result formats' count is missing)
    d = decoder()
    d.feed(b"B" + (len(body) + 4).to_bytes(4, "big") + body + c.SYNC)
    assert d.next_bind() is None
    with pytest.raises(ProtocolViolation):
        d.next()
