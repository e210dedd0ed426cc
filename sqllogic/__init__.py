"""sqllogictest runner for sqlvec: parse .test/.slt files, run them over the wire or
embedded, print values like SQLite's reference runner, compare, and --complete.

    from sqllogic import run_file, wire_factory
    report = run_file("select1.test", wire_factory(dsn))
"""

from __future__ import annotations

from sqllogic.backends import Outcome, embedded_factory, wire_factory
from sqllogic.parser import ENGINE, Record, parse_file, parse_text
from sqllogic.runner import FileReport, run_file, run_records

__all__ = [
    "ENGINE",
    "FileReport",
    "Outcome",
    "Record",
    "embedded_factory",
    "parse_file",
    "parse_text",
    "run_file",
    "run_records",
    "wire_factory",
]
