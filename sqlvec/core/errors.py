"""Errors a client can see: every one carries a SQLSTATE and PostgreSQL-style fields.

Raise the most specific class, with a short lowercase message as PostgreSQL words it:

    raise DataException("expected 3 dimensions, not 2")
    raise UndefinedTable('relation "t" does not exist', position=15)

Anything that is not a SqlError reaching a client is a bug: the wire layer reports it
as InternalError (XX000) and logs the traceback.
"""

from __future__ import annotations

from enum import StrEnum


class SqlState(StrEnum):
    """SQLSTATE codes used by sqlvec; each belongs to exactly one exception class."""

    SUCCESSFUL_COMPLETION = "00000"
    WARNING = "01000"
    NO_DATA = "02000"
    CONNECTION_EXCEPTION = "08000"
    PROTOCOL_VIOLATION = "08P01"
    FEATURE_NOT_SUPPORTED = "0A000"
    INVALID_TRANSACTION_INITIATION = "0B000"
    CARDINALITY_VIOLATION = "21000"
    DATA_EXCEPTION = "22000"
    STRING_DATA_RIGHT_TRUNCATION = "22001"
    STRING_DATA_LENGTH_MISMATCH = "22026"
    NULL_VALUE_NOT_ALLOWED = "22004"
    INVALID_DATETIME_FORMAT = "22007"
    DATETIME_FIELD_OVERFLOW = "22008"
    INVALID_TIME_ZONE_DISPLACEMENT_VALUE = "22009"
    NUMERIC_VALUE_OUT_OF_RANGE = "22003"
    SEQUENCE_GENERATOR_LIMIT_EXCEEDED = "2200H"
    DIVISION_BY_ZERO = "22012"
    INVALID_ARGUMENT_FOR_LOGARITHM = "2201E"
    INVALID_ARGUMENT_FOR_POWER_FUNCTION = "2201F"
    INVALID_ESCAPE_SEQUENCE = "22025"
    INVALID_REGULAR_EXPRESSION = "2201B"
    INVALID_ROW_COUNT_IN_LIMIT_CLAUSE = "2201W"
    INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE = "2201X"
    CHARACTER_NOT_IN_REPERTOIRE = "22021"
    INVALID_PARAMETER_VALUE = "22023"
    ARRAY_SUBSCRIPT_ERROR = "2202E"
    INVALID_TEXT_REPRESENTATION = "22P02"
    INVALID_BINARY_REPRESENTATION = "22P03"
    BAD_COPY_FILE_FORMAT = "22P04"
    INVALID_JSON_TEXT = "22032"
    INVALID_SQL_JSON_SUBSCRIPT = "22033"
    INVALID_PRECEDING_OR_FOLLOWING_SIZE = "22013"
    SINGLETON_SQL_JSON_ITEM_REQUIRED = "22038"
    SQL_JSON_ARRAY_NOT_FOUND = "22039"
    SQL_JSON_MEMBER_NOT_FOUND = "2203A"
    NON_NUMERIC_SQL_JSON_ITEM = "2203B"
    SQL_JSON_OBJECT_NOT_FOUND = "2203C"
    INTEGRITY_CONSTRAINT_VIOLATION = "23000"
    GENERATED_ALWAYS = "428C9"
    NOT_NULL_VIOLATION = "23502"
    FOREIGN_KEY_VIOLATION = "23503"
    WITH_CHECK_OPTION_VIOLATION = "44000"
    UNIQUE_VIOLATION = "23505"
    CHECK_VIOLATION = "23514"
    INVALID_CURSOR_STATE = "24000"
    INVALID_TRANSACTION_STATE = "25000"
    ACTIVE_SQL_TRANSACTION = "25001"
    NO_ACTIVE_SQL_TRANSACTION = "25P01"
    IN_FAILED_SQL_TRANSACTION = "25P02"
    READ_ONLY_SQL_TRANSACTION = "25006"
    INVALID_SQL_STATEMENT_NAME = "26000"
    INVALID_SAVEPOINT_SPECIFICATION = "3B001"
    INVALID_AUTHORIZATION_SPECIFICATION = "28000"
    INVALID_PASSWORD = "28P01"
    INVALID_CURSOR_NAME = "34000"
    INVALID_CATALOG_NAME = "3D000"
    INVALID_SCHEMA_NAME = "3F000"
    SERIALIZATION_FAILURE = "40001"
    DEADLOCK_DETECTED = "40P01"
    SYNTAX_ERROR = "42601"
    INSUFFICIENT_PRIVILEGE = "42501"
    UNDEFINED_COLUMN = "42703"
    UNDEFINED_FUNCTION = "42883"
    UNDEFINED_TABLE = "42P01"
    UNDEFINED_PARAMETER = "42P02"
    UNDEFINED_OBJECT = "42704"
    DUPLICATE_COLUMN = "42701"
    DUPLICATE_CURSOR = "42P03"
    DUPLICATE_DATABASE = "42P04"
    DUPLICATE_PREPARED_STATEMENT = "42P05"
    DUPLICATE_SCHEMA = "42P06"
    DUPLICATE_TABLE = "42P07"
    DUPLICATE_ALIAS = "42712"
    DUPLICATE_OBJECT = "42710"
    AMBIGUOUS_COLUMN = "42702"
    AMBIGUOUS_FUNCTION = "42725"
    AMBIGUOUS_PARAMETER = "42P08"
    GROUPING_ERROR = "42803"
    DATATYPE_MISMATCH = "42804"
    WRONG_OBJECT_TYPE = "42809"
    INVALID_COLUMN_REFERENCE = "42P10"
    INVALID_RECURSION = "42P19"
    WINDOWING_ERROR = "42P20"
    CANNOT_COERCE = "42846"
    INVALID_TABLE_DEFINITION = "42P16"
    INVALID_OBJECT_DEFINITION = "42P17"
    INVALID_FOREIGN_KEY = "42830"
    INVALID_NAME = "42602"
    NAME_TOO_LONG = "42622"
    DEPENDENT_OBJECTS_STILL_EXIST = "2BP01"
    PROGRAM_LIMIT_EXCEEDED = "54000"
    TOO_MANY_CONNECTIONS = "53300"
    OUT_OF_MEMORY = "53200"
    DISK_FULL = "53100"
    OBJECT_NOT_IN_PREREQUISITE_STATE = "55000"
    OBJECT_IN_USE = "55006"
    LOCK_NOT_AVAILABLE = "55P03"
    QUERY_CANCELED = "57014"
    ADMIN_SHUTDOWN = "57P01"
    CANNOT_CONNECT_NOW = "57P03"
    IO_ERROR = "58030"
    UNDEFINED_FILE = "58P01"
    CONFIG_FILE_ERROR = "F0000"
    DATA_CORRUPTED = "XX001"
    INTERNAL_ERROR = "XX000"


class SqlError(Exception):
    """Base of every error a client may see. Subclasses fix the SQLSTATE."""

    sqlstate: SqlState = SqlState.INTERNAL_ERROR
    severity: str = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        schema: str | None = None,
        table: str | None = None,
        column: str | None = None,
        constraint: str | None = None,
        datatype: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position  # 1-based character offset into the statement text
        self.schema = schema
        self.table = table
        self.column = column
        self.constraint = constraint
        self.datatype = datatype

    @property
    def code(self) -> str:
        return self.sqlstate.value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}: {self.message})"


def _error(name: str, state: SqlState, base: type[SqlError] = SqlError) -> type[SqlError]:
    return type(name, (base,), {"sqlstate": state, "__doc__": f"SQLSTATE {state.value}."})


class Warning_(SqlError):
    """A NOTICE/WARNING carried as a value (never raised to the client as an error)."""

    sqlstate = SqlState.WARNING
    severity = "WARNING"


ConnectionException = _error("ConnectionException", SqlState.CONNECTION_EXCEPTION)
ProtocolViolation = _error("ProtocolViolation", SqlState.PROTOCOL_VIOLATION)
FeatureNotSupported = _error("FeatureNotSupported", SqlState.FEATURE_NOT_SUPPORTED)
CardinalityViolation = _error("CardinalityViolation", SqlState.CARDINALITY_VIOLATION)
DataException = _error("DataException", SqlState.DATA_EXCEPTION)
StringDataRightTruncation = _error("StringDataRightTruncation", SqlState.STRING_DATA_RIGHT_TRUNCATION)
StringDataLengthMismatch = _error("StringDataLengthMismatch", SqlState.STRING_DATA_LENGTH_MISMATCH)
NullValueNotAllowed = _error("NullValueNotAllowed", SqlState.NULL_VALUE_NOT_ALLOWED)
InvalidDatetimeFormat = _error("InvalidDatetimeFormat", SqlState.INVALID_DATETIME_FORMAT)
DatetimeFieldOverflow = _error("DatetimeFieldOverflow", SqlState.DATETIME_FIELD_OVERFLOW)
InvalidTimeZoneDisplacementValue = _error(
    "InvalidTimeZoneDisplacementValue", SqlState.INVALID_TIME_ZONE_DISPLACEMENT_VALUE
)
NumericValueOutOfRange = _error("NumericValueOutOfRange", SqlState.NUMERIC_VALUE_OUT_OF_RANGE)
SequenceGeneratorLimitExceeded = _error("SequenceGeneratorLimitExceeded",
                                        SqlState.SEQUENCE_GENERATOR_LIMIT_EXCEEDED)
DivisionByZero = _error("DivisionByZero", SqlState.DIVISION_BY_ZERO)
InvalidArgumentForLogarithm = _error(
    "InvalidArgumentForLogarithm", SqlState.INVALID_ARGUMENT_FOR_LOGARITHM
)
InvalidArgumentForPowerFunction = _error(
    "InvalidArgumentForPowerFunction", SqlState.INVALID_ARGUMENT_FOR_POWER_FUNCTION
)
InvalidEscapeSequence = _error("InvalidEscapeSequence", SqlState.INVALID_ESCAPE_SEQUENCE)
InvalidRegularExpression = _error("InvalidRegularExpression", SqlState.INVALID_REGULAR_EXPRESSION)
InvalidRowCountInLimitClause = _error(
    "InvalidRowCountInLimitClause", SqlState.INVALID_ROW_COUNT_IN_LIMIT_CLAUSE
)
InvalidRowCountInResultOffsetClause = _error(
    "InvalidRowCountInResultOffsetClause", SqlState.INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE
)
CharacterNotInRepertoire = _error("CharacterNotInRepertoire", SqlState.CHARACTER_NOT_IN_REPERTOIRE)
InvalidParameterValue = _error("InvalidParameterValue", SqlState.INVALID_PARAMETER_VALUE)
ArraySubscriptError = _error("ArraySubscriptError", SqlState.ARRAY_SUBSCRIPT_ERROR)
InvalidTextRepresentation = _error(
    "InvalidTextRepresentation", SqlState.INVALID_TEXT_REPRESENTATION
)
InvalidBinaryRepresentation = _error(
    "InvalidBinaryRepresentation", SqlState.INVALID_BINARY_REPRESENTATION
)
BadCopyFileFormat = _error("BadCopyFileFormat", SqlState.BAD_COPY_FILE_FORMAT)
InvalidJsonText = _error("InvalidJsonText", SqlState.INVALID_JSON_TEXT)
InvalidPrecedingOrFollowingSize = _error("InvalidPrecedingOrFollowingSize",
                                         SqlState.INVALID_PRECEDING_OR_FOLLOWING_SIZE)
InvalidSqlJsonSubscript = _error("InvalidSqlJsonSubscript", SqlState.INVALID_SQL_JSON_SUBSCRIPT)
SingletonSqlJsonItemRequired = _error("SingletonSqlJsonItemRequired", SqlState.SINGLETON_SQL_JSON_ITEM_REQUIRED)
SqlJsonArrayNotFound = _error("SqlJsonArrayNotFound", SqlState.SQL_JSON_ARRAY_NOT_FOUND)
SqlJsonMemberNotFound = _error("SqlJsonMemberNotFound", SqlState.SQL_JSON_MEMBER_NOT_FOUND)
NonNumericSqlJsonItem = _error("NonNumericSqlJsonItem", SqlState.NON_NUMERIC_SQL_JSON_ITEM)
SqlJsonObjectNotFound = _error("SqlJsonObjectNotFound", SqlState.SQL_JSON_OBJECT_NOT_FOUND)
IntegrityConstraintViolation = _error(
    "IntegrityConstraintViolation", SqlState.INTEGRITY_CONSTRAINT_VIOLATION
)
NotNullViolation = _error("NotNullViolation", SqlState.NOT_NULL_VIOLATION)
GeneratedAlways = _error("GeneratedAlways", SqlState.GENERATED_ALWAYS)
ForeignKeyViolation = _error("ForeignKeyViolation", SqlState.FOREIGN_KEY_VIOLATION)
WithCheckOptionViolation = _error("WithCheckOptionViolation", SqlState.WITH_CHECK_OPTION_VIOLATION)
UniqueViolation = _error("UniqueViolation", SqlState.UNIQUE_VIOLATION)
CheckViolation = _error("CheckViolation", SqlState.CHECK_VIOLATION)
InvalidCursorState = _error("InvalidCursorState", SqlState.INVALID_CURSOR_STATE)
InvalidTransactionState = _error("InvalidTransactionState", SqlState.INVALID_TRANSACTION_STATE)
ActiveSqlTransaction = _error("ActiveSqlTransaction", SqlState.ACTIVE_SQL_TRANSACTION)
NoActiveSqlTransaction = _error("NoActiveSqlTransaction", SqlState.NO_ACTIVE_SQL_TRANSACTION)
InFailedSqlTransaction = _error("InFailedSqlTransaction", SqlState.IN_FAILED_SQL_TRANSACTION)
ReadOnlySqlTransaction = _error("ReadOnlySqlTransaction", SqlState.READ_ONLY_SQL_TRANSACTION)
InvalidSqlStatementName = _error("InvalidSqlStatementName", SqlState.INVALID_SQL_STATEMENT_NAME)
InvalidSavepointSpecification = _error(
    "InvalidSavepointSpecification", SqlState.INVALID_SAVEPOINT_SPECIFICATION
)
InvalidAuthorizationSpecification = _error(
    "InvalidAuthorizationSpecification", SqlState.INVALID_AUTHORIZATION_SPECIFICATION
)
InvalidPassword = _error("InvalidPassword", SqlState.INVALID_PASSWORD)
InvalidCursorName = _error("InvalidCursorName", SqlState.INVALID_CURSOR_NAME)
InvalidCatalogName = _error("InvalidCatalogName", SqlState.INVALID_CATALOG_NAME)
InvalidSchemaName = _error("InvalidSchemaName", SqlState.INVALID_SCHEMA_NAME)
SerializationFailure = _error("SerializationFailure", SqlState.SERIALIZATION_FAILURE)
DeadlockDetected = _error("DeadlockDetected", SqlState.DEADLOCK_DETECTED)
SyntaxError_ = _error("SyntaxError_", SqlState.SYNTAX_ERROR)
InsufficientPrivilege = _error("InsufficientPrivilege", SqlState.INSUFFICIENT_PRIVILEGE)
UndefinedColumn = _error("UndefinedColumn", SqlState.UNDEFINED_COLUMN)
UndefinedFunction = _error("UndefinedFunction", SqlState.UNDEFINED_FUNCTION)
UndefinedTable = _error("UndefinedTable", SqlState.UNDEFINED_TABLE)
UndefinedParameter = _error("UndefinedParameter", SqlState.UNDEFINED_PARAMETER)
UndefinedObject = _error("UndefinedObject", SqlState.UNDEFINED_OBJECT)
DuplicateColumn = _error("DuplicateColumn", SqlState.DUPLICATE_COLUMN)
DuplicateCursor = _error("DuplicateCursor", SqlState.DUPLICATE_CURSOR)
DuplicateDatabase = _error("DuplicateDatabase", SqlState.DUPLICATE_DATABASE)
DuplicatePreparedStatement = _error(
    "DuplicatePreparedStatement", SqlState.DUPLICATE_PREPARED_STATEMENT
)
DuplicateSchema = _error("DuplicateSchema", SqlState.DUPLICATE_SCHEMA)
DuplicateTable = _error("DuplicateTable", SqlState.DUPLICATE_TABLE)
DuplicateAlias = _error("DuplicateAlias", SqlState.DUPLICATE_ALIAS)
DuplicateObject = _error("DuplicateObject", SqlState.DUPLICATE_OBJECT)
AmbiguousColumn = _error("AmbiguousColumn", SqlState.AMBIGUOUS_COLUMN)
AmbiguousFunction = _error("AmbiguousFunction", SqlState.AMBIGUOUS_FUNCTION)
AmbiguousParameter = _error("AmbiguousParameter", SqlState.AMBIGUOUS_PARAMETER)
GroupingError = _error("GroupingError", SqlState.GROUPING_ERROR)
DatatypeMismatch = _error("DatatypeMismatch", SqlState.DATATYPE_MISMATCH)
WrongObjectType = _error("WrongObjectType", SqlState.WRONG_OBJECT_TYPE)
InvalidColumnReference = _error("InvalidColumnReference", SqlState.INVALID_COLUMN_REFERENCE)
InvalidRecursion = _error("InvalidRecursion", SqlState.INVALID_RECURSION)
WindowingError = _error("WindowingError", SqlState.WINDOWING_ERROR)
CannotCoerce = _error("CannotCoerce", SqlState.CANNOT_COERCE)
InvalidTableDefinition = _error("InvalidTableDefinition", SqlState.INVALID_TABLE_DEFINITION)
InvalidObjectDefinition = _error("InvalidObjectDefinition", SqlState.INVALID_OBJECT_DEFINITION)
InvalidForeignKey = _error("InvalidForeignKey", SqlState.INVALID_FOREIGN_KEY)
InvalidName = _error("InvalidName", SqlState.INVALID_NAME)
NameTooLong = _error("NameTooLong", SqlState.NAME_TOO_LONG)
DependentObjectsStillExist = _error(
    "DependentObjectsStillExist", SqlState.DEPENDENT_OBJECTS_STILL_EXIST
)
ProgramLimitExceeded = _error("ProgramLimitExceeded", SqlState.PROGRAM_LIMIT_EXCEEDED)
TooManyConnections = _error("TooManyConnections", SqlState.TOO_MANY_CONNECTIONS)
OutOfMemory = _error("OutOfMemory", SqlState.OUT_OF_MEMORY)
DiskFull = _error("DiskFull", SqlState.DISK_FULL)
ObjectNotInPrerequisiteState = _error(
    "ObjectNotInPrerequisiteState", SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE
)
ObjectInUse = _error("ObjectInUse", SqlState.OBJECT_IN_USE)
LockNotAvailable = _error("LockNotAvailable", SqlState.LOCK_NOT_AVAILABLE)
QueryCanceled = _error("QueryCanceled", SqlState.QUERY_CANCELED)
AdminShutdown = _error("AdminShutdown", SqlState.ADMIN_SHUTDOWN)
CannotConnectNow = _error("CannotConnectNow", SqlState.CANNOT_CONNECT_NOW)
IoError = _error("IoError", SqlState.IO_ERROR)
UndefinedFile = _error("UndefinedFile", SqlState.UNDEFINED_FILE)
DataCorrupted = _error("DataCorrupted", SqlState.DATA_CORRUPTED)
InternalError = _error("InternalError", SqlState.INTERNAL_ERROR)

FATAL_STATES = frozenset(
    {
        SqlState.INVALID_PASSWORD,
        SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
        SqlState.INVALID_CATALOG_NAME,
        SqlState.TOO_MANY_CONNECTIONS,
        SqlState.ADMIN_SHUTDOWN,
        SqlState.CANNOT_CONNECT_NOW,
    }
)


def error_class(state: SqlState | str) -> type[SqlError]:
    """The exception class that owns a SQLSTATE (SqlError for unknown codes)."""
    try:
        return _BY_STATE.get(SqlState(state), SqlError)
    except ValueError:
        return SqlError


_BY_STATE: dict[SqlState, type[SqlError]] = {}
for _value in list(globals().values()):
    if isinstance(_value, type) and issubclass(_value, SqlError) and _value is not SqlError:
        _BY_STATE.setdefault(_value.sqlstate, _value)
