"""PEP 249 exception classes, chosen from the SQLSTATE class of the engine's SqlError."""

from __future__ import annotations

from sqlvec.core.errors import SqlError


class Warning(Exception):  # noqa: A001 - the name PEP 249 requires
    """Important warnings (PEP 249)."""


class Error(Exception):
    """Base of every DB-API error; `.sqlstate`/`.pgcode` carry the SQLSTATE when known."""

    sqlstate: str | None = None

    def __init__(self, message: str = "", *, sqlstate: str | None = None,
                 error: SqlError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.error = error  # the engine's SqlError (detail, hint, position, ...)

    @property
    def pgcode(self) -> str | None:
        return self.sqlstate

    @property
    def diag(self) -> SqlError | None:
        return self.error


class InterfaceError(Error):
    """Misuse of the interface itself (closed cursor or connection, bad parameters)."""


class DatabaseError(Error):
    """An error reported by the database."""


class DataError(DatabaseError):
    """SQLSTATE class 22: bad data (invalid input, out of range, division by zero)."""


class OperationalError(DatabaseError):
    """SQLSTATE classes 08, 53, 57, 58: the database could not do the operation."""


class IntegrityError(DatabaseError):
    """SQLSTATE class 23: constraint violations."""


class InternalError(DatabaseError):
    """SQLSTATE classes XX, 25, 40: internal or transaction-state errors."""


class ProgrammingError(DatabaseError):
    """SQLSTATE classes 42, 26, 34, 3D, 3F: errors in the SQL or its objects."""


class NotSupportedError(DatabaseError):
    """SQLSTATE class 0A: a feature sqlvec does not support."""


_BY_CLASS: dict[str, type[DatabaseError]] = {
    "22": DataError, "23": IntegrityError, "42": ProgrammingError, "0A": NotSupportedError,
    "08": OperationalError, "53": OperationalError, "54": OperationalError,
    "55": OperationalError, "57": OperationalError, "58": OperationalError,
    "26": ProgrammingError, "34": ProgrammingError, "3D": ProgrammingError,
    "3F": ProgrammingError, "28": OperationalError, "25": InternalError,
    "40": InternalError, "XX": InternalError, "2B": IntegrityError, "21": ProgrammingError,
    "24": InternalError, "0B": InternalError,
}


def from_sql_error(err: SqlError) -> DatabaseError:
    """The PEP 249 exception for an engine error, keeping its SQLSTATE and fields."""
    cls = _BY_CLASS.get(err.code[:2], DatabaseError)
    return cls(err.message, sqlstate=err.code, error=err)


def from_exception(exc: BaseException) -> DatabaseError:
    """An unexpected (non-SQL) exception as InternalError XX000, logged with its traceback:
    nothing but PEP 249 classes leaves sqlvec.connect()."""
    import logging

    from sqlvec.core.errors import InternalError as EngineInternalError

    logging.getLogger("sqlvec").error("internal error in embedded mode", exc_info=exc)
    err = EngineInternalError(f"{type(exc).__name__}: {exc}")
    return from_sql_error(err)
