"""COPY ... FROM STDIN / TO STDOUT: the statement, and the text, csv and binary data formats.

(COPY ... FROM 'file', csv/text/binary/Parquet on the server: copy_file.py.)

COPY TO STDOUT runs the table or query through the session and formats whole batches
(text: the type's output with backslash escapes; csv: quoting where needed; binary:
PGCOPY header, per-field binary send). COPY FROM STDIN buffers the client's data and
loads it every 16 MB: text and csv through Arrow's CSV reader into string columns (the
engine's input functions convert them, numeric arrays here: copy_arrays.py), binary
decoded with numpy straight to the columns' Arrow types (copy_binary.py); each chunk is
inserted as Arrow columns through the table's bound INSERT (copy_load.py).

    >>> parse_copy("COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER)").header
    True
    >>> parse_copy("copy (select 1) to stdout").target
    '(select 1)'
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sqlvec.core.errors import BadCopyFileFormat, FeatureNotSupported, SqlError, SyntaxError_
from sqlvec.core.results import Column, Rows
from sqlvec.wire import backend as be
from sqlvec.wire import copy_binary as CB
from sqlvec.wire import copy_load as CL
from sqlvec.wire.codecs import decode_binary, encode_column, format_text
from sqlvec.wire.copy_arrays import parse_flat_arrays
from sqlvec.wire.copy_load import quote_ident
from sqlvec.wire.segments import I16, I32, Seg, binary_seg, concat_rows

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"

_TOKEN = re.compile(r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<string>[Ee]?'(?:[^']|'')*')
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*|[0-9]+)
  | (?P<punct>[().,;])
""", re.S | re.X)


@dataclass(frozen=True)
class CopyCommand:
    """A COPY between a table (or query) and the client."""

    direction: str  # 'in' (FROM STDIN), 'out' (TO STDOUT) or 'file' (FROM 'file')
    target: str  # SQL text of the table name, or '(query)'
    columns: tuple[str, ...] | None  # SQL text of the column identifiers
    format: str = "text"  # text | csv | binary
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool = False
    quote: str = '"'
    escape: str = '"'
    path: str | None = None  # direction 'file': the server-side file (copy_file.py)

    @property
    def is_query(self) -> bool:
        return self.target.startswith("(")


def _tokens(sql: str) -> list[tuple[str, str, int, int]]:
    out, pos = [], 0
    while pos < len(sql):
        m = _TOKEN.match(sql, pos)
        if m is None:
            out.append(("other", sql[pos], pos, pos + 1))
            pos += 1
            continue
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(), m.start(), m.end()))
        pos = m.end()
    return out


def _string_value(tok: str) -> str:
    body = tok[2:-1] if tok[0] in "Ee" else tok[1:-1]
    body = body.replace("''", "'")
    if tok[0] in "Ee":
        body = body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    return body


def parse_copy(sql: str) -> CopyCommand | None:
    """The COPY statement when `sql` is one COPY FROM STDIN / TO STDOUT; otherwise None."""
    toks = _tokens(sql)
    while toks and toks[-1][1] == ";":
        toks.pop()
    if len(toks) < 4 or toks[0][1].upper() != "COPY" or any(t[1] == ";" for t in toks):
        return None
    i = 1
    if toks[i][1] == "(":  # COPY (query) TO STDOUT
        depth, j = 0, i
        while j < len(toks):
            depth += {"(": 1, ")": -1}.get(toks[j][1], 0)
            if depth == 0:
                break
            j += 1
        if j >= len(toks):
            return None
        target = sql[toks[i][2]:toks[j][3]]
        i = j + 1
    else:
        start = i
        while i < len(toks) and (toks[i][0] in ("word", "ident") or toks[i][1] == "."):
            if toks[i][0] == "word" and toks[i][1].upper() in ("FROM", "TO") and i > start:
                break
            i += 1
        target = sql[toks[start][2]:toks[i - 1][3]] if i > start else ""
    columns = None
    if i < len(toks) and toks[i][1] == "(" and not target.startswith("("):
        cols, i = [], i + 1
        while i < len(toks) and toks[i][1] != ")":
            if toks[i][1] != ",":
                cols.append(toks[i][1])
            i += 1
        columns, i = tuple(cols), i + 1
    if not target or i + 1 >= len(toks):
        return None
    verb, where = toks[i][1].upper(), toks[i + 1][1].upper()
    path = None
    if (verb, where) == ("FROM", "STDIN"):
        direction = "in"
    elif (verb, where) == ("TO", "STDOUT"):
        direction = "out"
    elif verb == "FROM" and toks[i + 1][0] == "string" and not target.startswith("("):
        direction, path = "file", _string_value(toks[i + 1][1])
    else:
        return None  # programs and TO 'file' are the session's business (and refused there)
    cmd = CopyCommand(direction, target, columns, path=path)
    return _options(cmd, toks[i + 2:])


def _options(cmd: CopyCommand, toks: list) -> CopyCommand:
    words = [t for t in toks if t[1] not in (",",)]
    if words and words[0][1].upper() == "WITH":
        words = words[1:]
    if words and words[0][1] == "(":
        words = [t for t in words[1:] if t[1] != ")"]
        modern = True
    else:
        modern = False
    opts: dict[str, Any] = {}
    k = 0
    while k < len(words):
        name = words[k][1].upper()
        k += 1
        nxt = words[k] if k < len(words) else None
        if name in ("BINARY", "CSV") and not modern:
            opts["format"] = name.lower()
            continue
        if name == "HEADER" and (nxt is None or nxt[0] == "word" and nxt[1].upper() not in
                                 ("TRUE", "FALSE", "ON", "OFF", "0", "1", "MATCH")):
            opts["header"] = True
            continue
        if nxt is not None and nxt[1].upper() == "AS" and not modern:
            k += 1
            nxt = words[k] if k < len(words) else None
        if nxt is None:
            raise SyntaxError_(f'option "{name.lower()}" requires a value')
        value = _string_value(nxt[1]) if nxt[0] == "string" else nxt[1]
        k += 1
        if name == "FORMAT":
            opts["format"] = value.lower()
        elif name == "HEADER":
            opts["header"] = value.lower() in ("true", "on", "1", "match")
        elif name in ("DELIMITER", "NULL", "QUOTE", "ESCAPE"):
            opts[name.lower()] = value
        elif name in ("ENCODING",):
            if value.upper().replace("-", "") not in ("UTF8", "UNICODE"):
                raise FeatureNotSupported("COPY supports only the UTF8 encoding")
        elif name in ("FORCE", "FREEZE", "FORCE_QUOTE", "FORCE_NOT_NULL", "FORCE_NULL"):
            continue
        else:
            raise SyntaxError_(f'option "{name.lower()}" not recognized')
    default = "text"
    if cmd.path is not None and cmd.path.lower().endswith((".parquet", ".parq")):
        default = "parquet"
    fmt = opts.get("format", default)
    if fmt not in ("text", "csv", "binary") and not (fmt == "parquet" and cmd.path is not None):
        raise SyntaxError_(f'COPY format "{fmt}" not recognized')
    if fmt == "csv":
        cmd = replace(cmd, delimiter=",", null="")
    cmd = replace(cmd, format=fmt, **{k: v for k, v in opts.items() if k != "format"})
    if len(cmd.delimiter) != 1:
        raise FeatureNotSupported("COPY delimiter must be a single one-byte character")
    return cmd


# --- TO STDOUT -------------------------------------------------------------------------------

def out_query(cmd: CopyCommand) -> str:
    if cmd.is_query:
        return cmd.target[1:-1]
    cols = ", ".join(cmd.columns) if cmd.columns else "*"
    return f"SELECT {cols} FROM {cmd.target}"


def _text_escape(col: pa.Array, delimiter: str) -> pa.Array:
    out = pc.replace_substring(col, "\\", "\\\\")
    for ch, esc in (("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        out = pc.replace_substring(out, ch, esc)
    if delimiter not in "\n\r\t\\":
        out = pc.replace_substring(out, delimiter, "\\" + delimiter)
    return out


def _csv_quote(col: pa.Array, cmd: CopyCommand) -> pa.Array:
    specials = "[" + re.escape(cmd.delimiter + cmd.quote) + "\r\n]"
    needs = pc.or_(pc.match_substring_regex(col, specials), pc.equal(col, cmd.null))
    esc = cmd.escape if cmd.escape else cmd.quote
    quoted = pc.binary_join_element_wise(
        cmd.quote, pc.replace_substring(col, cmd.quote, esc + cmd.quote), cmd.quote, "")
    return pc.if_else(needs, quoted, col)


def format_rows(batch: pa.RecordBatch, columns: list[Column], cmd: CopyCommand,
                timezone: str = "UTC") -> Seg:
    """Each row of a batch in the COPY format (text/csv lines end with a newline);
    timestamptz values print in `timezone` (the session's TimeZone), as query results."""
    n = batch.num_rows
    if cmd.format == "binary":
        pieces: list = [I16(np.full(n, len(columns), dtype=np.int16))]
        for i, col in enumerate(columns):
            seg, valid = encode_column(batch.column(i), col.type, 1)
            lengths = seg.lengths if valid is None else np.where(valid, seg.lengths, -1)
            pieces += [I32(lengths), seg]
        return concat_rows(n, pieces)
    texts = []
    for i, col in enumerate(columns):
        arr = batch.column(i)
        txt = format_text(arr, col.type, timezone)
        txt = _text_escape(txt, cmd.delimiter) if cmd.format == "text" else _csv_quote(txt, cmd)
        texts.append(pc.fill_null(txt, cmd.null) if arr.null_count else txt)
    line = pc.binary_join_element_wise(*texts, cmd.delimiter) if len(texts) > 1 else texts[0]
    line = pc.binary_join_element_wise(line, pa.array([""] * n, pa.string()), "\n")
    return binary_seg(line)


def copy_data_messages(rows: Seg, prefix: bytes = b"") -> bytes:
    """One CopyData message per row (as PostgreSQL sends them); `prefix` joins the first."""
    if prefix:
        rows = Seg(rows.lengths.copy(), np.concatenate([np.frombuffer(prefix, np.uint8), rows.data]))
        rows.lengths[0] += len(prefix)
    return concat_rows(rows.n, [b"d", I32(rows.lengths + 4), rows]).data.tobytes()


def copy_out_messages(rows: Rows, cmd: CopyCommand, counter: list[int],
                      timezone: str = "UTC") -> Iterator[bytes]:
    """Framed CopyData messages for a result; counter[0] ends as the row count."""
    prefix = BINARY_SIGNATURE + struct.pack("!ii", 0, 0) if cmd.format == "binary" else b""
    if cmd.header and cmd.format != "binary":
        names = [c.name for c in rows.columns]
        yield be.copy_data((cmd.delimiter.join(names) + "\n").encode("utf-8"))
    for batch in rows.batches:
        counter[0] += batch.num_rows
        if batch.num_rows:
            yield copy_data_messages(format_rows(batch, rows.columns, cmd, timezone), prefix)
            prefix = b""
    if cmd.format == "binary":
        yield be.copy_data(prefix + struct.pack("!h", -1))


# --- FROM STDIN ------------------------------------------------------------------------------

def _unescape_text(value: str) -> str:
    return re.sub(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)", _unescape_one, value, flags=re.S)


_SIMPLE_ESCAPES = (("\\b", "\b"), ("\\f", "\f"), ("\\n", "\n"), ("\\r", "\r"),
                   ("\\t", "\t"), ("\\v", "\v"))


def _unescape_column(col: pa.Array) -> pa.Array:
    """Text-format backslash escapes of a whole column by Arrow kernels.

    Escapes are read left to right, so each escaped backslash pair is first set aside as
    NUL (which COPY text cannot hold), then the one-letter escapes and 'any other character
    stands for itself' apply, then the pairs come back as one backslash. Values with an
    octal or hex escape (rare) go through the per-value reader.
    """
    if pc.any(pc.match_substring(col, "\x00")).as_py():
        return pa.array([v if v is None or "\\" not in v else _unescape_text(v)
                         for v in col.to_pylist()], pa.string())
    out = pc.replace_substring(col, "\\\\", "\x00")
    numeric = pc.match_substring_regex(out, r"\\([0-7]|x[0-9a-fA-F])")
    for esc, ch in _SIMPLE_ESCAPES:
        out = pc.replace_substring(out, esc, ch)
    out = pc.replace_substring(pc.replace_substring_regex(out, r"(?s)\\(.)", r"\1"),
                               "\x00", "\\")
    if pc.any(numeric).as_py():
        idx = pc.indices_nonzero(numeric)
        slow = [_unescape_text(v) for v in pc.take(col, idx).to_pylist()]
        mask = pc.fill_null(numeric, False)
        out = pc.replace_with_mask(out, mask, pa.array(slow, pa.string()))
    return out


def _unescape_one(m: re.Match) -> str:
    s = m.group(1)
    if s[0] == "x" and len(s) > 1:
        return chr(int(s[1:], 16))
    if s[0] in "01234567":
        return chr(int(s, 8))
    return {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}.get(s, s)


def parse_text_data(data: bytes | memoryview, cmd: CopyCommand, ncols: int) -> list[pa.Array]:
    """Columns of strings (NULL where the null string stands) from text or csv COPY data
    (bytes, or a memoryview of them: read in place, never copied)."""
    data = memoryview(data).cast("B")
    if cmd.format in ("text", "csv"):  # the end-of-data marker line, as psql sends it after
        # a script's inline data (no copy of the data otherwise)
        tail = bytes(data[-8:])
        end = len(tail) - 1 if tail.endswith(b"\n") else len(tail)
        start = tail.rfind(b"\n", 0, end) + 1
        if end - start <= 3 and tail[start:end].rstrip(b"\r") == b"\\.":
            data = data[:len(data) - len(tail) + start]
    if (not data or data[:1] in (b"\r", b"\n")) and not bytes(data).strip(b"\r\n"):
        return [pa.array([], pa.string()) for _ in range(ncols)]
    # one pass over the chunk: with no backslash anywhere no column needs unescaping
    # (match_substring on each column cost as much as splitting the vectors)
    escapes = cmd.format == "text" and _has_backslash(data)
    names = [f"f{i}" for i in range(ncols)]
    csv_mode = cmd.format == "csv"
    parse = pacsv.ParseOptions(
        delimiter=cmd.delimiter,
        quote_char=cmd.quote if csv_mode else False,
        double_quote=csv_mode and cmd.escape == cmd.quote,
        escape_char=cmd.escape if csv_mode and cmd.escape != cmd.quote else False,
        newlines_in_values=csv_mode, ignore_empty_lines=False)
    conv = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, null_values=[cmd.null],
        strings_can_be_null=True, quoted_strings_can_be_null=False)
    read = pacsv.ReadOptions(column_names=names, skip_rows=1 if cmd.header else 0,
                             block_size=1 << 24)
    try:
        table = pacsv.read_csv(pa.BufferReader(pa.py_buffer(data)), read_options=read,
                               parse_options=parse, convert_options=conv)
    except pa.ArrowInvalid as e:
        text = str(e)
        if "UTF8" in text:  # 22021 naming the bad bytes, as PostgreSQL (and a Query) does
            from sqlvec.wire.messages import decode_utf8

            decode_utf8(bytes(data))
        if "Expected" in text and "columns" in text:
            raise BadCopyFileFormat("extra data after last expected column" if
                                    _got_more(text, ncols) else
                                    "missing data for column") from None
        raise BadCopyFileFormat(f"invalid COPY data: {text}") from None
    out = []
    for name in names:
        col = table.column(name).combine_chunks()
        if escapes and len(col) and pc.any(pc.match_substring(col, "\\")).as_py():
            col = _unescape_column(col)
        out.append(col)
    return out


def _has_backslash(data: memoryview) -> bool:
    """Whether a byte is a backslash (numpy's compare over the buffer: no copy)."""
    u8 = np.frombuffer(data, np.uint8)
    step = 1 << 22
    return any(bool((u8[i:i + step] == 92).any()) for i in range(0, len(u8), step))


def _got_more(message: str, ncols: int) -> bool:
    m = re.search(r"got (\d+)", message)
    return bool(m) and int(m.group(1)) > ncols


def binary_header_end(data: bytes) -> int:
    """Where the tuples start after the PGCOPY signature, flags and header extension."""
    if not data.startswith(BINARY_SIGNATURE):
        raise BadCopyFileFormat("COPY file signature not recognized")
    if len(data) < len(BINARY_SIGNATURE) + 8:
        raise BadCopyFileFormat("unexpected EOF in COPY data")
    _flags, ext = struct.unpack_from("!ii", data, len(BINARY_SIGNATURE))
    return len(BINARY_SIGNATURE) + 8 + ext


def parse_binary_data(data: bytes, columns: list[Column], pos: int = -1, final: bool = True,
                      ) -> tuple[list[pa.Array], list[bool], int]:
    """Arrow columns of the complete tuples in binary COPY data from `pos` (-1: the header
    first); (arrays, decoded natively or as text per column, bytes consumed)."""
    if pos < 0:
        pos = binary_header_end(data)
    fields, end, _ = CB.split_rows(data, pos, len(columns), final)
    arrays, native = [], []
    for f, col in zip(fields, columns):
        arr = None
        if CB.native_decoder(col):
            try:
                arr = CB.decode_column(data, f, col)
            except CB.Fallback:
                arr = None
        # strings of a length-limited type still go through its cast (length, padding)
        native.append(arr is not None and not (col.type.short in ("varchar", "bpchar")
                                               and "(" in col.type.display()))
        arrays.append(arr if arr is not None else _decode_as_text(data, f, col))
    return arrays, native, end


def _decode_as_text(data: bytes, f: CB.Fields, col: Column) -> pa.Array:
    """Per-value binary receive for types without a vectorised decoder, as their text."""
    from sqlvec.core import textio

    out: list[str | None] = []
    for s, ln in zip(f.starts.tolist(), f.lengths.tolist()):
        out.append(None if ln < 0 else
                   textio.format_value(decode_binary(data[s:s + ln], col.type), col.type))
    return pa.array(out, pa.string())


def decode_text(data: bytes | memoryview, cmd: CopyCommand, columns: list[Column],
                ) -> tuple[list[pa.Array], list[bool]]:
    """Text/csv COPY data as columns: numeric arrays decoded natively, the rest as text."""
    values = parse_text_data(data, cmd, len(columns))
    native = [False] * len(columns)
    for i, col in enumerate(columns):
        fast = parse_flat_arrays(values[i], col.type)
        if fast is not None:
            values[i], native[i] = fast, True
    return values, native


def run_copy_in(session: Any, cmd: CopyCommand, columns: list[Column], data: bytes) -> int:
    """Insert text/csv COPY data through the session; the number of rows."""
    values, native = decode_text(data, cmd, columns)
    return load_arrays(session, cmd, columns, values, native)


def load_arrays(session: Any, cmd: CopyCommand, columns: list[Column],
                arrays: list[pa.Array | pa.ChunkedArray], native: list[bool],
                bulk: bool = False) -> int:
    """Insert decoded columns (native: already of the column's type, else text)."""
    if not arrays or len(arrays[0]) == 0:
        return 0
    names = list(cmd.columns) if cmd.columns else [quote_ident(c.name) for c in columns]
    sql = CL.insert_sql(cmd.target, names, columns, native)
    return CL.load_columns(session, sql, arrays, bulk)


class CopyIn:
    """One COPY FROM STDIN in progress: buffers, decodes every 16 MB, loads, commits.

    Decoded columns collect until they hold LOAD_BYTES (or the data ends) and then go in
    as one INSERT; a load of at least BULK_BYTES is written straight to a segment file
    (fsynced before the COPY is acknowledged; the commit's WAL record names the file), so
    the rows are not written to the WAL and again at the next checkpoint.

    Runs in its own transaction unless the client has a block open; the first error is
    kept and reported at CopyDone (the rest of the data is discarded), as libpq expects.
    """

    FLUSH_BYTES = 16 * 1024 * 1024
    LOAD_BYTES = 64 * 1024 * 1024
    BULK_BYTES = 4 * 1024 * 1024

    def __init__(self, session: Any, cmd: CopyCommand, columns: list[Column],
                 source: str = "PIPE", total: int = 0) -> None:
        check_writable(session)
        self.session, self.cmd, self.columns = session, cmd, columns
        self.chunks: list[bytes] = []
        self.size = 0
        self.count = 0
        self.binary_pos = -1  # binary: where the tuples start once the header was read
        self.error: SqlError | None = None
        self.pending: list[tuple[list[pa.Array], list[bool]]] = []  # decoded, not loaded
        self.pending_bytes = 0
        self.own_txn = session.txn_status == "I"
        if self.own_txn:
            for _ in session.execute("BEGIN"):
                pass
        self.progress = start_progress(session, cmd.target, source, total)

    def feed(self, data: bytes) -> None:
        self.progress["bytes_processed"] += len(data)
        if self.error is not None:
            return
        self.chunks.append(data)
        self.size += len(data)
        if self.size < self.FLUSH_BYTES:
            return
        buf = b"".join(self.chunks)
        if self.cmd.format == "binary":
            self._decode_binary(buf, final=False)
            return
        cut = self._cut(buf)
        if cut > 0:
            self.chunks, self.size = [buf[cut:]], len(buf) - cut
            self._decode_text(memoryview(buf)[:cut])  # read in place
        else:
            self.chunks = [buf]

    def _cut(self, buf: bytes) -> int:
        """End of the last complete line (csv: outside quotes, when quotes pair up)."""
        cut = buf.rfind(b"\n") + 1
        if self.cmd.format == "csv":
            quote = self.cmd.quote.encode()
            if self.cmd.escape != self.cmd.quote or buf.count(quote, 0, cut) % 2:
                return 0
        return cut

    def _decode_binary(self, buf: bytes, final: bool) -> None:
        """Decode the complete tuples of `buf`; keep the rest for the next piece."""
        try:
            arrays, native, end = parse_binary_data(buf, self.columns, self.binary_pos, final)
            self.binary_pos = 0
            self.chunks, self.size = [buf[end:]], len(buf) - end
            self._queue(arrays, native)
        except SqlError as e:
            self._fail(e)

    def _decode_text(self, data: bytes | memoryview) -> None:
        try:
            self._queue(*decode_text(data, self.cmd, self.columns))
        except SqlError as e:
            self._fail(e)
        self.cmd = replace(self.cmd, header=False)  # only the first piece has it

    def _queue(self, arrays: list[pa.Array], native: list[bool]) -> None:
        """Hold decoded columns; load them once LOAD_BYTES collected."""
        if not arrays or len(arrays[0]) == 0:
            return
        if self.pending and self.pending[0][1] != native:
            self._load_pending()  # one INSERT per decoding (native or text) of the columns
        self.pending.append((arrays, native))
        self.pending_bytes += sum(a.nbytes for a in arrays)
        if self.pending_bytes >= self.LOAD_BYTES:
            self._load_pending()

    def _load_pending(self) -> None:
        pending, size = self.pending, self.pending_bytes
        self.pending, self.pending_bytes = [], 0
        if not pending or self.error is not None:
            return
        native = pending[0][1]
        arrays = [pending[0][0][i] if len(pending) == 1 else
                  pa.chunked_array([p[0][i] for p in pending])
                  for i in range(len(pending[0][0]))]
        try:
            self.count += load_arrays(self.session, self.cmd, self.columns, arrays, native,
                                      bulk=size >= self.BULK_BYTES)
            self.progress["tuples_processed"] = self.count
        except SqlError as e:
            self._fail(e)

    def _fail(self, e: SqlError) -> None:
        self.error = e
        self.chunks, self.size = [], 0
        self.pending, self.pending_bytes = [], 0

    def finish(self) -> int:
        """Load the rest and commit; the row count (raises the first error)."""
        try:
            return self._finish()
        finally:
            end_progress(self.session, self.progress)

    def _finish(self) -> int:
        if self.error is None:
            rest = b"".join(self.chunks)
            if self.cmd.format != "binary":
                self._decode_text(rest)
            elif rest or self.binary_pos < 0:
                self._decode_binary(rest, final=True)
            self._load_pending()
        self.chunks = []
        if self.error is not None:
            self.abort()
            raise self.error
        if self.own_txn:
            for _ in self.session.execute("COMMIT"):
                pass
        return self.count

    def abort(self) -> None:
        self.pending, self.pending_bytes = [], 0
        end_progress(self.session, self.progress)
        if self.own_txn and self.session.txn_status != "I":
            for _ in self.session.execute("ROLLBACK"):
                pass


def check_writable(session: Any) -> None:
    """COPY FROM in a read-only transaction is 25006, before any data is asked for."""
    if session.settings.values.get("transaction_read_only") == "on":
        from sqlvec.core.errors import ReadOnlySqlTransaction

        raise ReadOnlySqlTransaction("cannot execute COPY FROM in a read-only transaction")


def start_progress(session: Any, target: str, source: str, total: int = 0) -> dict:
    """The session's pg_stat_progress_copy row (PostgreSQL 15 columns) for a COPY FROM
    into `target` (SQL text of the table name); the caller updates its counters."""
    progress = {"relid": _relid(session, target), "command": "COPY FROM", "type": source,
                "bytes_processed": 0, "bytes_total": total, "tuples_processed": 0,
                "tuples_excluded": 0}
    session.copy_progress = progress
    return progress


def end_progress(session: Any, progress: dict) -> None:
    if getattr(session, "copy_progress", None) is progress:
        session.copy_progress = None


def _relid(session: Any, target: str) -> int:
    """The oid of the table a COPY names (0 when it cannot be told: progress only)."""
    parts = [t[1][1:-1].replace('""', '"') if t[0] == "ident" else t[1].lower()
             for t in _tokens(target) if t[1] != "."]
    try:
        cat = session.db.catalog(session.txn)
        path = parts[:-1] or session.settings.search_path(session.user)
        rel = cat.find_relation(parts[-1], path)
    except Exception:  # noqa: BLE001 - a progress report never fails the COPY
        return 0
    return int(getattr(rel, "oid", 0) or 0)


def check_columns(columns: list[Column] | None) -> list[Column]:
    if not columns:
        raise SqlError("COPY target has no columns")
    return columns


__all__ = ["CopyCommand", "CopyIn", "parse_copy", "copy_out_messages", "run_copy_in",
           "out_query"]
