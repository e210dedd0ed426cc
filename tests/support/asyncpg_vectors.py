"""An asyncpg connection to a test server with the vector extension created and, by default,
pgvector's asyncpg codecs registered (`pgvector.asyncpg.register_vector`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any


@contextlib.asynccontextmanager
async def vector_connection(server: Any, register: bool = True) -> AsyncIterator[Any]:
    import asyncpg

    con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                database="sqlvec")
    try:
        await con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        if register:
            from pgvector.asyncpg import register_vector

            await register_vector(con)
        yield con
    finally:
        await con.close()
