"""Run-time settings (SET/SHOW/RESET) with PostgreSQL's names and defaults."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlvec.core.errors import InvalidParameterValue, UndefinedObject


@dataclass(frozen=True)
class SettingSpec:
    name: str  # canonical spelling as SHOW prints the column name
    default: str
    report: bool = False  # sent in ParameterStatus
    choices: tuple[str, ...] = ()
    bounds: tuple[float, float] | None = None  # numeric settings: (min, max), checked at SET
    real: bool = False  # bounds of a floating-point setting (else integer)
    boolean: bool = False  # on/off (true, yes, 1 ... accepted; SHOW prints on or off)
    # a memory setting: its base unit in kB (1: kB, 8: 8kB blocks); the value is kept in
    # base units, taken with B/kB/MB/GB/TB and shown in the largest unit that divides it
    unit_kb: int = 0


ISOLATION_LEVELS = ("serializable", "repeatable read", "read committed", "read uncommitted")
_TRUE = ("on", "true", "yes", "1", "t", "y")
_FALSE = ("off", "false", "no", "0", "f", "n")

SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("DateStyle", "ISO, MDY", True),
    SettingSpec("TimeZone", "UTC", True),
    SettingSpec("client_encoding", "UTF8", True),
    SettingSpec("server_encoding", "UTF8", True),
    SettingSpec("server_version", "15.0", True),
    SettingSpec("server_version_num", "150000"),
    SettingSpec("integer_datetimes", "on", True),
    SettingSpec("standard_conforming_strings", "on", True),
    SettingSpec("IntervalStyle", "postgres", True),
    SettingSpec("application_name", "", True),
    SettingSpec("is_superuser", "on", True),
    SettingSpec("session_authorization", "sqlvec", True),
    SettingSpec("search_path", '"$user", public'),
    SettingSpec("statement_timeout", "0"),
    SettingSpec("lock_timeout", "0"),
    SettingSpec("idle_in_transaction_session_timeout", "0"),
    SettingSpec("synchronous_commit", "on", choices=("on", "off", "local", "remote_write", "remote_apply")),
    SettingSpec("extra_float_digits", "1"),
    # the current transaction's modes (session/txn_modes.py); outside a block, the defaults
    SettingSpec("transaction_isolation", "read committed", choices=ISOLATION_LEVELS),
    SettingSpec("default_transaction_isolation", "read committed", choices=ISOLATION_LEVELS),
    SettingSpec("transaction_read_only", "off", boolean=True),
    SettingSpec("default_transaction_read_only", "off", boolean=True),
    SettingSpec("transaction_deferrable", "off", boolean=True),
    SettingSpec("default_transaction_deferrable", "off", boolean=True),
    SettingSpec("bytea_output", "hex"),
    SettingSpec("client_min_messages", "notice", choices=(
        "debug5", "debug4", "debug3", "debug2", "debug1", "debug", "log", "notice", "warning", "error")),
    SettingSpec("max_identifier_length", "63"),
    SettingSpec("work_mem", "4096", bounds=(64, 2147483647), unit_kb=1),
    # read by pgvector's documented index builds (SET before CREATE INDEX) and tuning
    # scripts: PostgreSQL's ranges and units; max_parallel_maintenance_workers + 1 is the
    # number of threads an hnsw CREATE INDEX builds its graph with (at most the CPUs), by
    # default every CPU (PostgreSQL's default is 2 workers)
    SettingSpec("maintenance_work_mem", "65536", bounds=(1024, 2147483647), unit_kb=1),
    SettingSpec("max_parallel_maintenance_workers", str(min(1024, max(0, (os.cpu_count() or 1) - 1))),
                bounds=(0, 1024)),
    SettingSpec("max_parallel_workers", "8", bounds=(0, 1024)),
    SettingSpec("max_parallel_workers_per_gather", "2", bounds=(0, 1024)),
    SettingSpec("effective_cache_size", "524288", bounds=(1, 2147483647), unit_kb=8),
    SettingSpec("random_page_cost", "4", bounds=(0, 1.79769e308), real=True),
    SettingSpec("max_connections", "100"),
    SettingSpec("lc_messages", "C"),
    SettingSpec("lc_monetary", "C"),
    SettingSpec("lc_numeric", "C"),
    SettingSpec("lc_time", "C"),
    SettingSpec("row_security", "on", boolean=True),
    # PostgreSQL's planner method switches; pgvector's documentation uses two of them:
    # enable_indexscan = off for an exact answer, enable_seqscan = off to make a query use
    # its vector index (exec/vector_search.exact_threshold); the others change no plan here
    *(SettingSpec(f"enable_{m}", "on", boolean=True) for m in (
        "async_append", "bitmapscan", "gathermerge", "hashagg", "hashjoin", "incremental_sort",
        "indexonlyscan", "indexscan", "material", "memoize", "mergejoin", "nestloop",
        "parallel_append", "parallel_hash", "partition_pruning", "seqscan", "sort", "tidscan")),
    SettingSpec("enable_partitionwise_aggregate", "off", boolean=True),
    SettingSpec("enable_partitionwise_join", "off", boolean=True),
    SettingSpec("jit", "off", boolean=True),
    # pgvector's settings, with its ranges and values
    SettingSpec("hnsw.ef_search", "40", bounds=(1, 1000)),
    SettingSpec("hnsw.iterative_scan", "off", choices=("off", "relaxed_order", "strict_order")),
    SettingSpec("hnsw.max_scan_tuples", "20000", bounds=(1, 2147483647)),
    SettingSpec("hnsw.scan_mem_multiplier", "1", bounds=(1, 1000), real=True),
    SettingSpec("ivfflat.probes", "1", bounds=(1, 32768)),
    SettingSpec("ivfflat.iterative_scan", "off", choices=("off", "relaxed_order")),
    SettingSpec("ivfflat.max_probes", "32768", bounds=(1, 32768)),
    SettingSpec("sqlvec.disabled_rules", ""),
    # read by client libraries' introspection (SQLAlchemy, pgAdmin, DBeaver)
    SettingSpec("default_table_access_method", "heap"),
    SettingSpec("default_tablespace", ""),
    SettingSpec("block_size", "8192"),
    SettingSpec("max_index_keys", "32"),
    SettingSpec("lc_collate", "C.UTF-8"),
    SettingSpec("lc_ctype", "C.UTF-8"),
)
_BY_LOWER = {s.name.lower(): s for s in SPECS}


def _boolean(spec: SettingSpec, value: str) -> str:
    v = value.strip().lower()
    if v not in _TRUE and v not in _FALSE:
        raise InvalidParameterValue(f'parameter "{spec.name}" requires a Boolean value')
    return "on" if v in _TRUE else "off"


class Settings:
    """One session's settings: values keyed by lower-case name."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = {k: s.default for k, s in _BY_LOWER.items()}
        self.defaults = dict(self.values)
        # settings that are not the session's own (e.g. sqlvec.memory_limit): name -> getter
        self.dynamic: dict[str, Callable[[], str]] = {}
        # in a transaction block: the values at its start (ROLLBACK restores them) and the
        # values a COMMIT keeps (SET LOCAL changes only self.values); None outside a block
        self._begin: dict[str, str] | None = None
        self._commit: dict[str, str] | None = None
        for k, v in (initial or {}).items():
            if k.lower() in ("user", "database", "options", "replication"):
                continue
            spec = _BY_LOWER.get(k.lower())
            if spec is not None and (spec.unit_kb or spec.boolean):
                try:  # (in the form SET keeps: a memory size in base units, on / off)
                    v = _memory(spec, v) if spec.unit_kb else _boolean(spec, v)
                except InvalidParameterValue:
                    pass  # (kept as given, as other start-up values are)
            self.values[k.lower()] = v
            self.defaults[k.lower()] = v

    def spec(self, name: str) -> SettingSpec | None:
        return _BY_LOWER.get(name.lower())

    def get(self, name: str) -> str:
        """The value as SHOW prints it (durations with their unit: '1s', '100ms')."""
        key = name.lower()
        if key in self.dynamic:
            return self.dynamic[key]()
        if key not in self.values:
            raise UndefinedObject(f'unrecognized configuration parameter "{name}"')
        return _shown(key, self.values[key])

    def set(self, name: str, value: str | None, local: bool = False) -> str:
        """Set (None: back to default); returns the canonical name. In a block the change
        is undone by ROLLBACK, and a `local` one (SET LOCAL) by COMMIT too."""
        canonical = self._set(name, value)
        if self._commit is not None and not local:
            key = name.lower()
            self._commit[key] = self.values[key]
        return canonical

    def _set(self, name: str, value: str | None) -> str:
        key = name.lower()
        spec = _BY_LOWER.get(key)
        if spec is None and "." not in key:
            raise UndefinedObject(f'unrecognized configuration parameter "{name}"')
        if value is None:
            self.values[key] = self.defaults.get(key, spec.default if spec else "")
            return spec.name if spec else key
        if spec is not None and spec.choices:
            if value.lower() not in spec.choices:
                raise InvalidParameterValue(f'invalid value for parameter "{spec.name}": "{value}"')
            value = value.lower()
        if spec is not None and spec.boolean:
            value = _boolean(spec, value)
        if spec is not None and spec.unit_kb:
            value = _memory(spec, value)
        elif spec is not None and spec.bounds is not None:
            value = _numeric(spec, value)
        if key == "timezone" and value.upper() in ("UTC", "GMT", "Z"):
            value = "UTC" if value.upper() != "GMT" else "GMT"
        if key == "datestyle":
            value = _datestyle(value, self.values[key])
        if key in _DURATIONS and not value.strip().lstrip("-").isdigit():
            value = _duration_ms(value, spec.name if spec else key)
        if key == "client_encoding":
            value = _client_encoding(value)
        self.values[key] = value
        return spec.name if spec else key

    def reset_all(self) -> None:
        self.values = dict(self.defaults)
        if self._commit is not None:
            self._commit = dict(self.defaults)

    # -- transaction blocks (session.py calls these at BEGIN, COMMIT/ROLLBACK, savepoints) --
    def begin(self) -> None:
        self._begin, self._commit = dict(self.values), dict(self.values)

    def end(self, committed: bool) -> None:
        """The block ended: keep what COMMIT keeps, or go back to its start."""
        if self._begin is not None:
            self.values = self._commit if committed else self._begin
            self._begin = self._commit = None

    def savepoint(self) -> tuple[dict[str, str], dict[str, str]] | None:
        return (dict(self.values), dict(self._commit)) if self._commit is not None else None

    def rollback_to(self, saved: tuple[dict[str, str], dict[str, str]] | None) -> None:
        if saved is not None and self._commit is not None:
            self.values, self._commit = dict(saved[0]), dict(saved[1])

    def reported(self) -> dict[str, str]:
        return {s.name: self.values[s.name.lower()] for s in SPECS if s.report}

    def is_reported(self, name: str) -> bool:
        s = _BY_LOWER.get(name.lower())
        return bool(s and s.report)

    def all(self) -> list[tuple[str, str]]:
        items = [(s.name, _shown(k, self.values[k])) for k, s in _BY_LOWER.items()]
        items += [(k, get()) for k, get in self.dynamic.items()]
        return sorted(items, key=lambda x: x[0].lower())

    def catalog_rows(self) -> list[dict]:
        """pg_settings' rows: the setting in its base unit (kB, 8kB, ms) with the unit, the
        type PostgreSQL gives it (bool, enum, integer, real, string), bounds, enum values,
        and the boot and reset values."""
        out = []
        for key, spec in _BY_LOWER.items():
            unit, vartype, lo, hi = None, "string", None, None
            if spec.unit_kb:
                unit, vartype = ("kB" if spec.unit_kb == 1 else f"{spec.unit_kb}kB"), "integer"
            elif key in _DURATIONS:
                unit, vartype, lo, hi = "ms", "integer", "0", "2147483647"
            elif spec.boolean:
                vartype = "bool"
            elif spec.choices:
                vartype = "enum"
            elif spec.bounds is not None:
                vartype = "real" if spec.real else "integer"
            if spec.bounds is not None:
                lo, hi = (_bound_text(spec, b) for b in spec.bounds)
            out.append({"name": spec.name, "setting": self.values[key], "unit": unit,
                        "vartype": vartype, "min_val": lo, "max_val": hi,
                        "enumvals": list(spec.choices) if spec.choices else None,
                        "boot_val": spec.default, "reset_val": self.defaults.get(key, spec.default)})
        for key, get in self.dynamic.items():
            v = get()
            out.append({"name": key, "setting": v, "vartype": "string", "boot_val": v,
                        "reset_val": v})
        return sorted(out, key=lambda r: r["name"].lower())

    def search_path(self, user: str) -> list[str]:
        out = []
        for part in self.values["search_path"].split(","):
            p = part.strip().strip('"')
            if p == "$user":
                p = user
            if p:
                out.append(p)
        if "pg_catalog" not in out:
            out.insert(0, "pg_catalog")
        return out


def _datestyle(value: str, current: str) -> str:
    """DateStyle as PostgreSQL's check_datestyle: a style and/or an order; German alone
    also means DMY.

    >>> _datestyle("German", "ISO, MDY"), _datestyle("sql, dmy", "ISO, MDY")
    ('German, DMY', 'SQL, DMY')
    """
    fmt, order = [x.strip() for x in current.split(",")]
    have_order = False
    for part in value.replace(" ", ",").split(","):
        p = part.strip().upper()
        if p in ("ISO", "SQL", "POSTGRES", "GERMAN"):
            fmt = {"POSTGRES": "Postgres", "GERMAN": "German"}.get(p, p)
            if p == "GERMAN" and not have_order:
                order = "DMY"
        elif p in ("MDY", "DMY", "YMD"):
            order, have_order = p, True
        elif p in ("US", "NONEURO", "NONEUROPEAN"):
            order, have_order = "MDY", True
        elif p in ("EURO", "EUROPEAN"):
            order, have_order = "DMY", True
        elif p:
            raise InvalidParameterValue(f'invalid value for parameter "DateStyle": "{value}"')
    return f"{fmt}, {order}"


_DURATIONS = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
_UTF8 = ("utf8", "utf-8", "unicode")


def _client_encoding(value: str) -> str:
    """client_encoding: UTF8 under any of its names; others 22023, as at start-up."""
    if value.strip().lower() in _UTF8:
        return "UTF8"
    raise InvalidParameterValue(f'invalid value for parameter "client_encoding": "{value}"',
                                detail="sqlvec supports only the UTF8 client encoding.")


def _shown(key: str, value: str) -> str:
    """A stored value as SHOW prints it: durations and memory sizes with their unit."""
    if key in _DURATIONS:
        return _show_ms(value)
    spec = _BY_LOWER.get(key)
    if spec is not None and spec.unit_kb and value.isdigit():
        return _show_kb(int(value) * spec.unit_kb)
    return value


_MEMORY_UNITS = {"B": 1 / 1024, "kB": 1, "MB": 1 << 10, "GB": 1 << 20, "TB": 1 << 30}  # in kB
_MEMORY_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*")


def _memory(spec: SettingSpec, value: str) -> str:
    """A memory setting's value in its base units, as PostgreSQL's parse_int takes it: a
    number, fractions allowed, in base units or with a unit (B, kB, MB, GB, TB: case
    sensitive), rounded to a base unit; 22023 outside the bounds or the integer range.

    >>> spec = SettingSpec("maintenance_work_mem", "65536", bounds=(1024, 2147483647), unit_kb=1)
    >>> _memory(spec, "8GB"), _memory(spec, "1.5GB"), _memory(spec, "2048 MB"), _memory(spec, "1048577B")
    ('8388608', '1572864', '2097152', '1024')
    """
    m = _MEMORY_NUMBER.fullmatch(value)
    size = _MEMORY_UNITS.get(m.group(2)) if m is not None and m.group(2) else 0
    if m is None or size is None:
        hint = 'Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".' \
            if m is not None else None
        raise InvalidParameterValue(f'invalid value for parameter "{spec.name}": "{value}"',
                                    hint=hint)
    n = float(m.group(1))
    units = round(n * size / spec.unit_kb if size else n)
    if abs(units) > 2147483647:
        raise InvalidParameterValue(f'invalid value for parameter "{spec.name}": "{value}"',
                                    hint="Value exceeds integer range.")
    lo, hi = spec.bounds or (units, units)
    if not lo <= units <= hi:
        unit = "kB" if spec.unit_kb == 1 else f"{spec.unit_kb}kB"
        raise InvalidParameterValue(f"{units} {unit} is outside the valid range for parameter "
                                    f'"{spec.name}" ({int(lo)} .. {int(hi)})')
    return str(units)


def _show_kb(kb: int) -> str:
    """kB as SHOW prints a memory size: the largest unit that divides it.

    >>> _show_kb(4096), _show_kb(1572864), _show_kb(1025), _show_kb(8388608)
    ('4MB', '1536MB', '1025kB', '8GB')
    """
    for unit, size in (("TB", 1 << 30), ("GB", 1 << 20), ("MB", 1 << 10)):
        if kb and kb % size == 0:
            return f"{kb // size}{unit}"
    return f"{kb}kB"


def _show_ms(value: str) -> str:
    """Milliseconds as SHOW prints a duration: the largest unit that divides it.

    >>> _show_ms("0"), _show_ms("1000"), _show_ms("100"), _show_ms("120000")
    ('0', '1s', '100ms', '2min')
    """
    try:
        ms = int(value)
    except ValueError:
        return value
    if ms == 0:
        return "0"
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _duration_ms(value: str, name: str = "statement_timeout") -> str:
    v = value.strip().lower()
    units = {"ms": 1, "s": 1000, "min": 60000, "h": 3600000}
    for u, mult in sorted(units.items(), key=lambda x: -len(x[0])):
        if v.endswith(u):
            num = v[: -len(u)].strip()
            try:
                return str(int(float(num) * mult))
            except ValueError:
                break
    raise InvalidParameterValue(f'invalid value for parameter "{name}": "{value}"')


def _numeric(spec: SettingSpec, value: str) -> str:
    """A numeric setting's value checked as PostgreSQL does at SET (22023), canonical text.

    >>> _numeric(SettingSpec("hnsw.ef_search", "40", bounds=(1, 1000)), " 100 ")
    '100'
    """
    try:
        v = float(value.strip())
    except ValueError:
        v = math.nan
    if math.isnan(v) or math.isinf(v):
        raise InvalidParameterValue(f'invalid value for parameter "{spec.name}": "{value}"')
    lo, hi = spec.bounds or (v, v)
    if not spec.real:
        v = float(round(v))  # PostgreSQL rounds a fractional integer setting
    text = f"{v:g}" if spec.real else str(int(v))
    if not lo <= v <= hi:
        raise InvalidParameterValue(f"{text} is outside the valid range for parameter "
                                    f'"{spec.name}" ({_bound_text(spec, lo)} .. '
                                    f"{_bound_text(spec, hi)})")
    return text


def _bound_text(spec: SettingSpec, x: float) -> str:
    """A numeric setting's bound as PostgreSQL prints it (pg_settings, range errors)."""
    return f"{x:g}" if spec.real else str(int(x))
