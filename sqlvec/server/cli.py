"""`sqlvec serve`: command-line options, opening the Database, signals, the start-up line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
from collections.abc import Iterator
from typing import Any

from sqlvec.core.errors import InvalidCatalogName, SqlError
from sqlvec.core.passwords import make_scram_verifier
from sqlvec.server.spin import DEFAULT_WINDOW
from sqlvec.wire.messages import DEFAULT_MAX_MESSAGE_SIZE
from sqlvec.wire.protocol import ServerConfig

log = logging.getLogger("sqlvec.server")

AUTH_MODES = ("trust", "password", "md5", "scram-sha-256")


def parse_size(text: str) -> int:
    """'256MB', '1g', '4096' -> bytes."""
    s = text.strip().lower().removesuffix("b")
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}.get(s[-1:], 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def _microseconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text}: not between 0 and 1000000")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sqlvec", description="A vector database that speaks PostgreSQL")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the PostgreSQL-protocol server")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=5433, help="TCP port (default 5433; 0 = any free)")
    s.add_argument("--data", default="./sqlvec-data",
                   help='data directory (default ./sqlvec-data; ":memory:" for no persistence)')
    s.add_argument("--auth", choices=AUTH_MODES, default="trust", help="client authentication")
    s.add_argument("--user", default=None, help="bootstrap superuser name")
    s.add_argument("--password", default=None, help="bootstrap superuser password")
    s.add_argument("--tls-cert", default=None, help="PEM certificate (enables TLS)")
    s.add_argument("--tls-key", default=None, help="PEM private key")
    s.add_argument("--max-message-size", type=parse_size, default=DEFAULT_MAX_MESSAGE_SIZE,
                   help="largest protocol message accepted (default 256MB)")
    s.add_argument("--memory-limit", type=parse_size, default=None,
                   help="query memory budget, e.g. 4GB (53200 when exceeded)")
    s.add_argument("--workers", type=int, default=None, help="query threads")
    s.add_argument("--max-connections", type=int, default=1000,
                   help="concurrent client connections (53300 beyond; default 1000)")
    s.add_argument("--spin-us", type=_microseconds, default=DEFAULT_WINDOW * 1e6,
                   help="microseconds the event loop polls for the next request before it "
                        "sleeps, while requests come that fast (default 200; 0 = never)")
    s.add_argument("--log-level", default="WARNING")
    return p


def open_database(data: str, memory_limit: int | None, superuser: str | None = None) -> Any:
    """Open the engine's Database on a directory (or in memory for ':memory:')."""
    from sqlvec.session.database import Database

    path = None if data == ":memory:" else os.path.abspath(data)
    kwargs: dict[str, Any] = {"memory_limit": memory_limit} if memory_limit else {}
    if superuser:
        kwargs["superuser"] = superuser  # the role created when the directory is new
    return Database.open(path, **kwargs)


def session_factory(db: Any) -> Any:
    """open_session(user, database, params) for the protocol: 3D000 for unknown databases."""
    from sqlvec.session import Session

    def open_session(user: str, database: str, params: dict[str, str]) -> Any:
        has_database = getattr(db, "has_database", None)
        if has_database is not None and not has_database(database):
            raise InvalidCatalogName(f'database "{database}" does not exist')
        return Session(db, user=user, database=database, params=params)

    return open_session


def password_lookup(db: Any, user: str | None, password: str | None) -> Any:
    """lookup_password(user): the bootstrap user's verifier, else the role's stored one."""
    bootstrap = make_scram_verifier(password) if user and password else None

    def lookup(name: str) -> str | None:
        if bootstrap is not None and name == user:
            return bootstrap
        authenticate = getattr(db, "authenticate", None)
        role = authenticate(name) if authenticate is not None else None
        if role is None:
            return None
        if isinstance(role, str):
            return role
        if isinstance(role, dict):
            return role.get("password") or role.get("verifier")
        return getattr(role, "password", None) or getattr(role, "verifier", None)

    return lookup


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(args: argparse.Namespace) -> int:
    from sqlvec.server.app import Server

    db = open_database(args.data, args.memory_limit, args.user)
    ensure = getattr(db, "ensure_superuser", None)
    if args.user and ensure is not None:
        ensure(args.user, make_scram_verifier(args.password) if args.password else None)
    ctx = tls_context(args.tls_cert, args.tls_key)
    config = ServerConfig(auth=args.auth, tls=ctx is not None,
                          max_message_size=args.max_message_size)
    server = Server(session_factory(db), password_lookup(db, args.user, args.password),
                    config=config, host=args.host, port=args.port, ssl_context=ctx,
                    workers=args.workers, on_close=db.close,
                    max_connections=args.max_connections)
    host, port = await server.start()
    where = ":memory:" if args.data == ":memory:" else os.path.abspath(args.data)
    print(f"sqlvec listening on {host}:{port}, data in {where}", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.shutdown()))
    await server.wait_closed()
    print("sqlvec stopped", file=sys.stderr, flush=True)
    return 0


@contextlib.contextmanager
def _profiled() -> Iterator[None]:
    """SQLVEC_PROFILE=FILE: cProfile the event loop thread (where cheap requests run) until
    the server stops, stats written to FILE (a development aid: `python -m pstats FILE`)."""
    path = os.environ.get("SQLVEC_PROFILE")
    if not path:
        yield
        return
    import cProfile

    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        prof.dump_stats(path)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "serve":
        try:
            from sqlvec.server.app import ServerLoop

            def loop() -> ServerLoop:
                return ServerLoop(args.spin_us / 1e6)

            with asyncio.Runner(loop_factory=loop) as runner, _profiled():
                return runner.run(serve(args))
        except KeyboardInterrupt:
            return 0
        except (SqlError, OSError, ssl.SSLError) as e:  # e.g. directory in use, port taken
            print(f"sqlvec: {getattr(e, 'message', None) or e}", file=sys.stderr)
            return 1
    return 2
