"""The protocol state machine, driven by byte transcripts (no sockets)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

import pytest

from sqlvec.core.errors import InvalidCatalogName
from sqlvec.core.passwords import make_scram_verifier
from sqlvec.wire.protocol import (
    CloseConnection,
    DeliverCancel,
    ServerConfig,
    ServerConnection,
    StartTLS,
)
from tests.wire import pgclient as c
from tests.wire.fake_session import FakeSession


class Harness:
    def __init__(self, auth="trust", tls=False, passwords=None, max_message_size=1 << 20):
        self.sessions: list[FakeSession] = []
        self.passwords = passwords or {}
        self.conn = ServerConnection(
            ServerConfig(auth=auth, tls=tls, max_message_size=max_message_size),
            self.open_session, self.passwords.get, process_id=42, secret_key=7,
        )
        self.action = None

    def open_session(self, user, database, params):
        if database == "missing":
            raise InvalidCatalogName(f'database "{database}" does not exist')
        s = FakeSession(user, database, params)
        self.sessions.append(s)
        return s

    def send(self, *chunks: bytes) -> bytes:
        out = []
        self.conn.receive(b"".join(chunks))
        self.action = self.conn.process(out.append)
        return b"".join(out)

    def start(self, **kw) -> bytes:
        return self.send(c.startup(**kw))


def ready(h: Harness) -> Harness:
    out = h.start()
    assert c.kinds(out).startswith("R") and c.kinds(out).endswith("KZ")
    return h


def test_trust_startup_reports_parameters_and_key():
    h = Harness()
    msgs = c.split(h.start(application_name="psql"))
    assert msgs[0] == ("R", struct.pack("!i", 0))
    params = dict(tuple(b.split(b"\x00")[:2]) for k, b in msgs if k == "S")
    assert params[b"server_version"].startswith(b"15.")
    assert params[b"application_name"] == b"psql"
    assert params[b"client_encoding"] == b"UTF8"
    assert len(params) >= 13
    assert ("K", struct.pack("!ii", 42, 7)) in msgs
    assert msgs[-1] == ("Z", b"I")


def test_ssl_request_refused_then_startup_on_same_stream():
    h = Harness()
    out = h.send(c.ssl_request())
    assert out == b"N" and h.action is None
    assert c.kinds(h.start()).endswith("Z")


def test_ssl_request_accepted_when_tls_configured():
    h = Harness(tls=True)
    assert h.send(c.ssl_request()) == b"S"
    assert isinstance(h.action, StartTLS)


def test_cancel_request_delivers_keys():
    h = Harness()
    h.send(c.ssl_request())
    h.send(c.cancel_request(42, 7))
    assert h.action == DeliverCancel(42, 7)


def test_simple_query_rows_and_tags():
    h = ready(Harness())
    out = h.send(c.query("SELECT 3"))
    msgs = c.split(out)
    assert c.kinds(out) == "TDDDCZ"
    assert c.data_row_values(msgs[1][1]) == [b"1", b"r1"]
    assert c.data_row_values(msgs[3][1]) == [b"3", None]
    assert msgs[4][1] == b"SELECT 3\x00"


def test_multi_statement_and_empty_query():
    h = ready(Harness())
    assert c.kinds(h.send(c.query("SELECT 1; BEGIN"))) == "TDCCZ"
    assert c.split(h.send(c.query("COMMIT")))[-1] == ("Z", b"I")
    assert c.kinds(h.send(c.query(""))) == "IZ"


def test_error_in_transaction_sets_status_e():
    h = ready(Harness())
    h.send(c.query("BEGIN"))
    out = c.split(h.send(c.query("FROM nope")))
    assert out[0][0] == "E"
    fields = c.error_fields(out[0][1])
    assert fields["C"] == "42P01" and fields["S"] == "ERROR" and fields["P"] == "6"
    assert out[-1] == ("Z", b"E")
    out = c.split(h.send(c.query("SELECT 1")))
    assert c.error_fields(out[0][1])["C"] == "25P02"
    assert c.split(h.send(c.query("ROLLBACK")))[-1] == ("Z", b"I")


def test_notice_and_parameter_status_after_set():
    h = ready(Harness())
    assert c.kinds(h.send(c.query("NOTICE"))) == "NCZ"
    out = c.split(h.send(c.query("SET application_name = 'x'")))
    assert ("S", b"application_name\x00x\x00") in out


def test_extended_query_with_row_limit_and_suspend():
    h = ready(Harness())
    out = h.send(c.parse("SELECT 5", "s1"), c.describe("S", "s1"), c.bind(stmt="s1", portal="p"),
                 c.execute("p", 2), c.execute("p", 2), c.execute("p", 2), c.SYNC)
    assert c.kinds(out) == "1tT2DDsDDsDCZ"
    assert c.split(out)[-2][1] == b"SELECT 1\x00"


def test_binary_results_and_describe_portal():
    h = ready(Harness())
    out = c.split(h.send(c.parse("SELECT 1"), c.bind(result_formats=(1,)), c.describe("P"),
                         c.execute(), c.SYNC))
    assert [k for k, _ in out] == list("12TDCZ")
    assert out[2][1].endswith(b"\x00\x01")  # last column described as binary
    assert c.data_row_values(out[3][1]) == [b"\x00\x00\x00\x01", b"r1"]


def test_text_and_binary_parameters():
    h = ready(Harness())
    out = c.split(h.send(c.parse("SELECT $1"), c.bind([b"hi"]), c.execute(), c.SYNC))
    assert c.data_row_values(out[2][1]) == [b"hi"]
    h.send(c.parse("INT4 etc"), c.bind([struct.pack("!i", -5), struct.pack("!q", 2**40), b"\x01",
                                        struct.pack("!d", 1.5)], formats=(1,)), c.SYNC)
    assert h.sessions[0].log[-1] == ("bind", [-5, 2**40, True, 1.5])


def test_error_skips_until_sync():
    h = ready(Harness())
    out = h.send(c.parse("BOGUS"), c.bind(), c.execute(), c.parse("SELECT 1"), c.SYNC,
                 c.parse("SELECT 1"), c.bind(), c.execute(), c.SYNC)
    assert c.kinds(out) == "EZ" + "12DCZ"


def test_bind_errors():
    h = ready(Harness())
    out = c.split(h.send(c.bind(stmt="nope"), c.SYNC))
    assert c.error_fields(out[0][1])["C"] == "26000"
    out = c.split(h.send(c.parse("SELECT $1"), c.bind([b"a", b"b"]), c.SYNC))
    assert c.error_fields(out[1][1])["C"] == "08P01"
    out = c.split(h.send(c.parse("INT"), c.bind([b"x", b"1", b"t", b"1"]), c.SYNC))
    assert c.error_fields(out[1][1])["C"] == "22P02"
    out = c.split(h.send(c.parse("INT"), c.bind([b"\x00" * 5, b"1", b"t", b"1"], formats=(1,)), c.SYNC))
    assert c.error_fields(out[1][1])["C"] == "22P03"
    # a binary int4 of 3 bytes: PostgreSQL's int4recv runs out of message (08P01)
    out = c.split(h.send(c.parse("INT"), c.bind([b"\x00" * 3, b"1", b"t", b"1"], formats=(1,)), c.SYNC))
    assert c.error_fields(out[1][1])["C"] == "08P01"
    assert c.error_fields(out[1][1])["M"] == "insufficient data left in message"
    out = c.split(h.send(c.execute("nope"), c.SYNC))
    assert c.error_fields(out[0][1])["C"] == "34000"
    out = c.split(h.send(c.parse("SELECT 1", "dup"), c.parse("SELECT 1", "dup"), c.SYNC))
    assert c.error_fields(out[1][1])["C"] == "42P05"


def test_binds_of_a_statement_reuse_its_plan_and_keep_every_check():
    """The second and later Binds of a statement take the cached per-statement plan
    (decoders, result formats): values, errors and a re-Parse of the unnamed statement
    must come out as on the first Bind."""
    h = ready(Harness())
    ints = [struct.pack("!i", 7), struct.pack("!q", 8), b"\x01", struct.pack("!d", 1.5)]
    assert c.kinds(h.send(c.parse("INT", "s"), c.SYNC)) == "1Z"
    for _ in range(3):
        assert c.kinds(h.send(c.bind(ints, stmt="s", formats=(1,)), c.SYNC)) == "2Z"
    binds = [entry[1] for entry in h.sessions[0].log if entry[0] == "bind"]
    assert binds == [[7, 8, True, 1.5]] * 3
    bad = [struct.pack("!q", 7)] + ints[1:]  # int4 of 8 bytes, then a None, then too few
    out = c.split(h.send(c.bind(bad, stmt="s", formats=(1,)), c.SYNC))
    assert c.error_fields(out[0][1])["C"] == "22P03"
    assert c.error_fields(out[0][1])["M"] == "incorrect binary data format in bind parameter 1"
    h.send(c.bind([None] + ints[1:], stmt="s", formats=(1,)), c.SYNC)
    assert h.sessions[0].log[-1] == ("bind", [None, 8, True, 1.5])
    out = c.split(h.send(c.bind(ints[:2], stmt="s", formats=(1,)), c.SYNC))
    assert c.error_fields(out[0][1])["C"] == "08P01"
    out = h.send(c.bind(ints, "p", stmt="s", formats=(1,)), c.bind(ints, "p", stmt="s", formats=(1,)),
                 c.SYNC)
    assert c.error_fields(c.split(out)[1][1])["C"] == "42P03"  # the cursor exists already
    # the unnamed statement parsed again with other parameter types: a new plan
    h.send(c.parse("SELECT $1"), c.bind([b"abc"]), c.execute(), c.SYNC)
    out = c.split(h.send(c.parse("SELECT $1"), c.bind([b"\xc3\xa9"]), c.execute(), c.SYNC))
    assert [v for k, v in out if k == "D"] and h.sessions[0].log[-1] == ("bind", ["\u00e9"])
    out = c.split(h.send(c.bind([b"x"], stmt="s"), c.SYNC))  # "s" wants 4: text formats too
    assert c.error_fields(out[0][1])["C"] == "08P01"


def test_close_and_flush():
    h = ready(Harness())
    out = h.send(c.parse("SELECT 1", "a"), c.FLUSH)
    assert c.kinds(out) == "1"
    out = h.send(c.close("S", "a"), c.close("P", "zz"), c.SYNC)
    assert c.kinds(out) == "33Z"
    assert ("close_statement", "a") in h.sessions[0].log


def test_invalid_utf8_query_is_22021_and_connection_survives():
    h = ready(Harness())
    out = c.split(h.send(c.query(b"SELECT '\xc3\x28'")))
    f = c.error_fields(out[0][1])
    assert f["C"] == "22021"
    assert f["M"] == 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'
    assert out[-1][0] == "Z" and h.action is None
    out = c.split(h.send(c.parse("SELECT $1"), c.bind([b"\xff"]), c.execute(), c.SYNC))
    assert c.error_fields(out[1][1])["C"] == "22021"
    assert c.kinds(h.send(c.query("SELECT 1"))) == "TDCZ"


@pytest.mark.parametrize("payload", [
    b"?\x00\x00\x00\x04",                      # unknown message type
    b"Q\x00\x00\x00\x02",                      # length below 4
    c.msg(b"B", b"\x00\x00\x00\x05"),          # truncated Bind
    c.msg(b"E", b"portal-without-terminator"),
])
def test_protocol_violations_are_fatal_08p01(payload):
    h = ready(Harness())
    out = c.split(h.send(payload))
    f = c.error_fields(out[0][1])
    assert f["C"] == "08P01" and f["S"] == "FATAL"
    assert isinstance(h.action, CloseConnection)
    assert h.sessions[0].closed


def test_oversized_message_is_54000():
    h = ready(Harness(max_message_size=1000))
    out = c.split(h.send(c.query("SELECT " + "1" * 2000)))
    assert c.error_fields(out[0][1])["C"] == "54000"
    assert isinstance(h.action, CloseConnection)


def test_truncated_message_waits_for_more():
    h = ready(Harness())
    data = c.query("SELECT 1")
    assert h.send(data[:3]) == b"" and h.action is None
    assert c.kinds(h.send(data[3:])) == "TDCZ"


def test_unknown_database_is_fatal_3d000():
    h = Harness()
    out = c.split(h.start(database="missing"))
    f = c.error_fields(out[-1][1])
    assert f["C"] == "3D000" and f["S"] == "FATAL"
    assert f["M"] == 'database "missing" does not exist'
    assert isinstance(h.action, CloseConnection)


def test_terminate_closes_session():
    h = ready(Harness())
    h.send(c.TERMINATE)
    assert isinstance(h.action, CloseConnection) and h.sessions[0].closed


def test_cleartext_password():
    h = Harness(auth="password", passwords={"alice": make_scram_verifier("pw")})
    assert c.split(h.start()) == [("R", struct.pack("!i", 3))]
    assert c.kinds(h.send(c.msg(b"p", b"pw\x00"))).endswith("KZ")
    h = Harness(auth="password", passwords={"alice": make_scram_verifier("pw")})
    h.start()
    out = c.split(h.send(c.msg(b"p", b"bad\x00")))
    f = c.error_fields(out[0][1])
    assert f["C"] == "28P01" and f["M"] == 'password authentication failed for user "alice"'


def test_md5_password():
    h = Harness(auth="md5", passwords={"alice": "md5" + hashlib.md5(b"pwalice").hexdigest()})
    out = c.split(h.start())
    salt = out[0][1][4:]
    inner = hashlib.md5(b"pwalice").hexdigest().encode()
    resp = b"md5" + hashlib.md5(inner + salt).hexdigest().encode()
    assert c.kinds(h.send(c.msg(b"p", resp + b"\x00"))).endswith("Z")


def scram_client(h: Harness, password: str) -> list:
    out = c.split(h.start())
    assert out[0][0] == "R" and b"SCRAM-SHA-256" in out[0][1]
    nonce = base64.b64encode(os.urandom(12)).decode()
    first_bare = f"n=,r={nonce}"
    data = ("n,," + first_bare).encode()
    out = c.split(h.send(c.msg(b"p", c.cstr("SCRAM-SHA-256") + struct.pack("!i", len(data)) + data)))
    server_first = out[0][1][4:].decode()
    attrs = dict(p.split("=", 1) for p in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored = hashlib.sha256(client_key).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_msg = f"{first_bare},{server_first},{without_proof}".encode()
    sig = hmac.new(stored, auth_msg, "sha256").digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, sig))).decode()
    out = c.split(h.send(c.msg(b"p", f"{without_proof},p={proof}".encode())))
    if out[0][0] == "R":
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        expect = base64.b64encode(hmac.new(server_key, auth_msg, "sha256").digest())
        assert out[0][1] == struct.pack("!i", 12) + b"v=" + expect
    return out


def test_scram_sha_256_success_and_failure():
    h = Harness(auth="scram-sha-256", passwords={"alice": make_scram_verifier("s3cret")})
    out = scram_client(h, "s3cret")
    assert [k for k, _ in out][:2] == ["R", "R"] and out[-1] == ("Z", b"I")
    h = Harness(auth="scram-sha-256", passwords={"alice": make_scram_verifier("s3cret")})
    out = scram_client(h, "wrong")
    assert c.error_fields(out[0][1])["C"] == "28P01"
    h = Harness(auth="scram-sha-256")  # unknown role fails the same way
    out = scram_client(h, "whatever")
    assert c.error_fields(out[0][1])["C"] == "28P01"


def test_protocol_minor_version_negotiation():
    h = Harness()
    out = c.split(h.send(c.startup(minor=2, **{"_pq_.x": "1"})))
    assert out[0][0] == "v"
    assert out[0][1] == struct.pack("!ii", 0, 1) + b"_pq_.x\x00"
    assert out[-1] == ("Z", b"I")


def test_startup_options_and_encoding_are_normalised():
    from sqlvec.wire.startup import normalize_startup_params

    got = normalize_startup_params({"client_encoding": "'utf-8'", "DateStyle": "ISO",
                                    "options": r"-c search_path=public --work-mem=8MB -cx=a\ b"})
    assert got == {"client_encoding": "UTF8", "DateStyle": "ISO, MDY", "search_path": "public",
                   "work_mem": "8MB", "x": "a b"}
    h = Harness()
    out = c.split(h.start(client_encoding="LATIN1"))
    f = c.error_fields(out[-1][1])
    assert f["C"] == "22023" and f["S"] == "FATAL"


def test_gssenc_request_refused_then_startup():
    h = Harness()
    assert h.send(struct.pack("!ii", 8, 80877104)) == b"N" and h.action is None
    assert c.kinds(h.start()).endswith("KZ")


def test_protocol_major_version_other_than_3_is_fatal_0a000():
    h = Harness()
    body = struct.pack("!i", 2 << 16) + b"user\x00alice\x00\x00"
    out = c.split(h.send(struct.pack("!i", len(body) + 4) + body))
    f = c.error_fields(out[0][1])
    assert f["C"] == "0A000" and f["S"] == "FATAL" and "unsupported frontend protocol 2.0" in f["M"]
    assert isinstance(h.action, CloseConnection)


def test_function_call_is_0a000_and_skips_until_sync():
    h = ready(Harness())
    out = c.split(h.send(c.msg(b"F", struct.pack("!I", 1234) + b"\x00\x00\x00\x00\x00\x00"),
                         c.execute(), c.SYNC))
    assert [k for k, _ in out] == ["E", "Z"]
    assert c.error_fields(out[0][1])["C"] == "0A000"
