"""Per-value grammars of PostgreSQL text input that pyarrow.compute cannot express:
array literals ('{1,"a b",NULL}'), json/jsonb (with jsonb's normalised output), bytea
(hex and escape formats) and uuid. core/textio applies them once per distinct value.

    >>> parse_array_literal('{1,"a b",NULL}')
    ['1', 'a b', None]
    >>> jsonb_normalize('{"b":1,"a":[1.50, 1e2]}')
    '{"a": [1.50, 100], "b": 1}'
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from sqlvec.core.errors import InvalidTextRepresentation


def parse_bytea_value(s: str) -> bytes:
    if s.startswith("\\x"):
        try:
            return bytes.fromhex(s[2:])
        except ValueError:
            body = s[2:]
            bad = next((c for c in body if c not in "0123456789abcdefABCDEF" and not c.isspace()), None)
            if bad is None:
                raise InvalidTextRepresentation("invalid hexadecimal data: odd number of digits") from None
            raise InvalidTextRepresentation(f'invalid hexadecimal digit: "{bad}"') from None
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif s[i + 1:i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif len(s) >= i + 4 and all(ch in "01234567" for ch in s[i + 1:i + 4]):
            out.append(int(s[i + 1:i + 4], 8))
            i += 4
        else:
            raise InvalidTextRepresentation("invalid input syntax for type bytea")
    return bytes(out)


def parse_uuid_value(s: str) -> bytes:
    try:
        txt = s.strip()
        if txt.startswith("{") and txt.endswith("}"):
            txt = txt[1:-1]
        if len(txt.replace("-", "")) != 32:
            raise ValueError
        return uuid.UUID(txt).bytes
    except ValueError:
        raise InvalidTextRepresentation(f'invalid input syntax for type uuid: "{s}"') from None


def parse_array_literal(s: str, typname: str = "") -> list:
    """'{1,2,"a b",NULL}' to nested lists of str | None (element text still unparsed)."""
    bad = InvalidTextRepresentation(f'malformed array literal: "{s}"')
    txt = s.strip()
    if txt.startswith("[") and "=" in txt:  # dimension decoration '[1:2]={...}'
        txt = txt.split("=", 1)[1].strip()
    if not txt.startswith("{"):
        raise InvalidTextRepresentation(
            f'malformed array literal: "{s}"', detail='Array value must start with "{" or dimension information.')
    pos = 0

    def parse_list() -> list:
        nonlocal pos
        assert txt[pos] == "{"
        pos += 1
        items: list = []
        while True:
            while pos < len(txt) and txt[pos].isspace():
                pos += 1
            if pos >= len(txt):
                raise bad
            c = txt[pos]
            if c == "}" and not items:
                pos += 1
                return items
            if c == "{":
                items.append(parse_list())
            elif c == '"':
                pos += 1
                buf = []
                while pos < len(txt) and txt[pos] != '"':
                    if txt[pos] == "\\":
                        pos += 1
                    if pos < len(txt):
                        buf.append(txt[pos])
                    pos += 1
                if pos >= len(txt):
                    raise bad
                pos += 1
                items.append("".join(buf))
            else:
                buf = []
                while pos < len(txt) and txt[pos] not in ",}":
                    if txt[pos] == "\\":
                        pos += 1
                    if pos < len(txt):
                        buf.append(txt[pos])
                    pos += 1
                word = "".join(buf).strip()
                if word == "" or word in "{":
                    raise bad
                items.append(None if word.upper() == "NULL" else word)
            while pos < len(txt) and txt[pos].isspace():
                pos += 1
            if pos >= len(txt):
                raise bad
            if txt[pos] == ",":
                pos += 1
                continue
            if txt[pos] == "}":
                pos += 1
                return items
            raise bad

    result = parse_list()
    if txt[pos:].strip():
        raise InvalidTextRepresentation(
            f'malformed array literal: "{s}"', detail="Junk after closing right brace.")
    return result


def unparse_array(x: list | str | None) -> str | None:
    if x is None:
        return None
    if isinstance(x, list):
        return "{" + ",".join("NULL" if y is None else '"' + unparse_array(y).replace("\\", "\\\\").replace('"', '\\"') + '"'
                              if not isinstance(y, list) else unparse_array(y) for y in x) + "}"
    return x


def json_check(s: str) -> str:
    try:
        json.loads(s)
    except ValueError as e:
        raise InvalidTextRepresentation("invalid input syntax for type json", detail=str(e)) from None
    return s


def jsonb_normalize(s: str) -> str:
    """One json text to PostgreSQL's jsonb output form (sorted keys, ', ' and ': ')."""
    try:
        v = json.loads(s, parse_float=Decimal, parse_int=Decimal,
                       parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError as e:
        raise InvalidTextRepresentation("invalid input syntax for type json", detail=str(e)) from None
    return jsonb_dumps(v)


def jsonb_dumps(v: Any) -> str:
    """Serialise a Python json value as PostgreSQL prints jsonb."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Decimal):
        txt = format(v, "f")
        return txt[1:] if v == 0 and txt.startswith("-") else txt
    if isinstance(v, int | float):
        return jsonb_dumps(Decimal(repr(v)) if isinstance(v, float) else Decimal(v))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(jsonb_dumps(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {jsonb_dumps(v[k])}" for k in keys) + "}"
    raise TypeError(f"not a json value: {v!r}")
