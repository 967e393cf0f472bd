"""CSV files read for imports: streamed row by row, whatever their size.

Spreadsheets still export CSV in two encodings and two separators, so both are found
rather than asked for:
- the encoding: UTF-8 (with or without a byte order mark) when every byte of the file
  decodes as UTF-8, else Windows-1252. The file is on disk, so it is scanned once, in
  blocks, before reading (a file that is UTF-8 up to its last block is not UTF-8);
- the separator: whichever of `;`, `,` and tab appears most in the header line.

A given encoding or separator is checked first (`text_encoding`, `csv_delimiter`: the
checks every import option goes through, engine/exchange/import_checks.py). A header holding
a character no database stores (NUL) is refused naming its column; cells holding one are
refused by the importer, row by row (engine/exchange/import_rows.py), which skips that check
when the scan saw no NUL byte in a file whose encoding yields NUL from that byte alone.

Rows come as `(row_number, {header: raw string})`, numbered as a spreadsheet numbers
them (the header is row 1). Values beyond the header's columns are kept under the key
`None` (as `csv.DictReader` does), so that the importer can refuse that row by name.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

from engine.jobs.failures import new_error_id
from engine.jobs.stored_text import describe_character, first_unstorable, printable

from .import_messages import ImportFileError, ImportFileProblems, ImportOptionError

log = logging.getLogger(__name__)

SCAN_BLOCK = 1 << 20
DELIMITERS = (";", ",", "\t")
UTF8_BOM = codecs.BOM_UTF8
NOT_CP1252 = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
"""The five bytes Windows-1252 leaves undefined."""
DELIMITER_ALIASES = {"\\t": "\t", "tab": "\t"}
NOT_DELIMITERS = frozenset('"\'\r\n')
"""The quotes (`"` quotes cells, `'` starts a cell an export protected from spreadsheets) and line breaks."""
NOT_FILE_ENCODINGS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape"})
"""Text codecs Python knows that no file is written in (domain names, Python string literals)."""
NUL_FROM_BYTE_ONLY = frozenset({"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "iso8859-15", "ascii"})
"""Strict decoders that make a NUL only from a 0x00 byte and never a lone surrogate: a file in one of
these without a 0x00 byte holds no character a database refuses."""

Row = tuple[int, dict]


@dataclass(frozen=True)
class FileScan:
    encoding: str
    """A Python codec name: `utf-8-sig`, `utf-8`, `cp1252`, or the one given."""
    lines: int
    """Line breaks in the file: an upper bound of its rows (quoted cells may hold breaks)."""
    clean: bool = False
    """True when no cell can hold a character a database refuses (see NUL_FROM_BYTE_ONLY)."""


def text_encoding(name: str) -> str:
    """The Python codec name of `name`, an encoding text files are written in; ImportOptionError otherwise.

    `rot13`, `base64` or `zlib` are codecs but not text encodings (`codecs.lookup` knows them): they are
    refused like a name no codec has.
    """
    shown = printable(name)
    if first_unstorable(name) is not None or not name.strip():
        raise ImportOptionError("encoding", "unknown_encoding", encoding=shown)
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        raise ImportOptionError("encoding", "unknown_encoding", encoding=shown) from None
    try:
        b"".decode(info.name)  # a codec that is not a text encoding raises LookupError here
        "".encode(info.name)
    except (LookupError, UnicodeError):  # `undefined` refuses everything with UnicodeError
        raise ImportOptionError("encoding", "not_text_encoding", encoding=shown) from None
    if info.name in NOT_FILE_ENCODINGS:
        raise ImportOptionError("encoding", "not_text_encoding", encoding=shown)
    return info.name


def csv_delimiter(text: str) -> str:
    """The separator `text` names (`tab` and `\\t` name the tab); ImportOptionError unless it is one
    character other than a letter, a digit, a quote, a line break or an invisible character."""
    delimiter = DELIMITER_ALIASES.get(text, text)
    if (len(delimiter) != 1 or delimiter in NOT_DELIMITERS or delimiter.isalnum()
            or not (delimiter.isprintable() or delimiter == "\t")):
        raise ImportOptionError("delimiter", "bad_delimiter", delimiter=printable(text))
    return delimiter


def scan_file(path: Path, encoding: str | None = None) -> FileScan:
    """The file's encoding (found unless given) and its line count, in one pass over its blocks."""
    if encoding is not None:
        encoding = text_encoding(encoding)
    decoder = codecs.getincrementaldecoder("utf-8")() if encoding is None else None
    utf8 = True
    lines = 0
    bad_cp1252: tuple[int, int] | None = None
    offset = 0
    last = b"\n"
    nul = False
    with path.open("rb") as stream:
        first = True
        while block := stream.read(SCAN_BLOCK):
            lines += block.count(b"\n")
            nul = nul or b"\x00" in block
            last = block[-1:]
            if first and encoding is None and block.startswith(UTF8_BOM):
                encoding = "utf-8-sig"
                decoder = None
            first = False
            if decoder is not None and utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if encoding is None and bad_cp1252 is None:
                bad_cp1252 = _first_undefined_cp1252(block, offset)
            offset += len(block)
    if last != b"\n":
        lines += 1  # a last line without its line break
    if decoder is not None and utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if encoding is None:
        if utf8:
            encoding = "utf-8"
        elif bad_cp1252 is not None:
            byte, at = bad_cp1252
            raise ImportFileError("undecodable", {"byte": f"{byte:02X}", "offset": at})
        else:
            encoding = "cp1252"
    return FileScan(encoding, lines, clean=not nul and encoding in NUL_FROM_BYTE_ONLY)


def _first_undefined_cp1252(block: bytes, offset: int) -> tuple[int, int] | None:
    found = [(block.find(bytes([b])), b) for b in NOT_CP1252]
    found = [(at, b) for at, b in found if at >= 0]
    if not found:
        return None
    at, byte = min(found)
    return byte, offset + at


def detect_delimiter(header_line: str) -> str:
    """The separator of a header line: the candidate that appears most outside quotes (`,` if none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class CsvSource:
    """An open CSV file: its header, then its rows, streamed. Use it as a context manager."""

    path: Path
    encoding: str
    delimiter: str
    header: tuple[str, ...]
    estimated_rows: int
    """Data rows expected (line breaks minus the header): exact unless cells span lines."""
    header_row: int
    """The header's row number: 1, unless blank lines come first."""
    clean: bool
    """No cell can hold a character a database refuses: the importer need not look (FileScan.clean)."""
    _text: IO[str] = field(repr=False)
    _reader: Iterator[list[str]] = field(repr=False)

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._text.close()

    def __iter__(self) -> Iterator[Row]:
        header = self.header
        width = len(header)
        blank = [i for i, name in enumerate(header) if not name]
        named = [i for i, name in enumerate(header) if name]
        number = self.header_row
        reader = self._reader
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as error:
                raise decoding_error(error, number, self.encoding) from None
            except csv.Error as error:
                raise csv_error(error, number, self.path) from None
            if not cells or (not cells[0].strip() and not any(c.strip() for c in cells)):
                continue  # a blank line, or only separators
            if blank or len(cells) > width:
                extra = [c for i, c in enumerate(cells) if (i >= width or i in blank) and c.strip()]
                values = {header[i]: cells[i] for i in named if i < len(cells)}
                if extra:
                    values[None] = extra
            else:
                values = dict(zip(header, cells))
            yield number, values


def open_csv(path: str | Path, *, encoding: str | None = None, delimiter: str | None = None) -> CsvSource:
    """Open `path` for reading rows; the encoding and separator are found unless given."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError("file_missing", {"path": str(path)})
    if delimiter is not None:
        delimiter = csv_delimiter(delimiter)
    scan = scan_file(path, encoding)
    text = io.TextIOWrapper(path.open("rb"), encoding=scan.encoding, newline="")
    try:
        header_row = 1
        try:
            first = text.readline()
            while first and not first.strip():
                header_row += 1
                first = text.readline()
        except UnicodeDecodeError as error:
            raise decoding_error(error, header_row, scan.encoding) from None
        if not first.strip():
            raise ImportFileError("file_empty")
        delimiter = delimiter or detect_delimiter(first)
        header_cells = _header_cells(first, text, delimiter)
        header = tuple(cell.strip() for cell in header_cells)
        _refuse_unstorable(header, header_row)
        seen: set[str] = set()
        for name in header:
            if name and name in seen:
                raise ImportFileError("duplicate_header", {"header": name}, row=1, column=name)
            seen.add(name)
        reader = csv.reader(text, delimiter=delimiter)
    except BaseException:
        text.close()
        raise
    return CsvSource(path, scan.encoding, delimiter, header, max(scan.lines - header_row, 0), header_row, scan.clean,
                     text, reader)


def _header_cells(first: str, rest: IO[str], delimiter: str) -> list[str]:
    """The header's cells; a quoted header cell may span lines, which are then read from `rest`."""
    text = first
    while text.count('"') % 2:  # a quote still open: the cell goes on on the next line
        more = rest.readline()
        if not more:
            raise ImportFileError("header_quote", row=1)
        text += more
    return next(csv.reader(io.StringIO(text), delimiter=delimiter))


def _refuse_unstorable(header: tuple[str, ...], row: int) -> None:
    """Every header cell holding a character no database stores, named by position (ImportFileProblems)."""
    problems = []
    for position, name in enumerate(header, start=1):
        char = first_unstorable(name)
        if char is not None:
            shown = printable(name)
            problems.append(ImportFileError(
                "header_characters", {"position": position, "header": shown, "character": describe_character(char)},
                row=row, column=shown,
            ))
    if problems:
        raise ImportFileProblems(problems)


def decoding_error(error: UnicodeDecodeError, row: int, encoding: str) -> ImportFileError:
    """A row the encoding cannot read, naming the byte (not the decoder's own words)."""
    byte = error.object[error.start:error.start + 1].hex().upper() or "??"
    return ImportFileError("decoding", {"row": row, "encoding": encoding, "byte": byte}, row=row)


def csv_error(error: csv.Error, row: int, path: Path) -> ImportFileError:
    """A row the CSV reader refuses: a cell over the reader's limit is said; anything else is
    logged with an id, which the message gives (the reader's words are not for people)."""
    if "field larger than field limit" in str(error):
        return ImportFileError("cell_too_long", {"row": row, "limit": csv.field_size_limit()}, row=row)
    error_id = new_error_id()
    log.warning("%s, row %s: not valid CSV: %s [error id %s]", path.name, row, error, error_id)
    return ImportFileError("csv_syntax", {"row": row, "error_id": error_id}, row=row)
