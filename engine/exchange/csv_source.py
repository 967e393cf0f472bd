"""CSV files read for imports: streamed row by row, whatever their size.

Spreadsheets still export CSV in two encodings and two separators, so both are found
rather than asked for:
- the encoding: UTF-8 (with or without a byte order mark) when every byte of the file
  decodes as UTF-8, else Windows-1252. The file is on disk, so it is scanned once, in
  blocks, before reading (a file that is UTF-8 up to its last block is not UTF-8);
- the separator: whichever of `;`, `,` and tab appears most in the header line.

Rows come as `(row_number, {header: raw string})`, numbered as a spreadsheet numbers
them (the header is row 1). Values beyond the header's columns are kept under the key
`None` (as `csv.DictReader` does), so that the importer can refuse that row by name.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

from .import_messages import ImportFileError

SCAN_BLOCK = 1 << 20
DELIMITERS = (";", ",", "\t")
UTF8_BOM = codecs.BOM_UTF8
NOT_CP1252 = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
"""The five bytes Windows-1252 leaves undefined."""

Row = tuple[int, dict]


@dataclass(frozen=True)
class FileScan:
    encoding: str
    """A Python codec name: `utf-8-sig`, `utf-8`, `cp1252`, or the one given."""
    lines: int
    """Line breaks in the file: an upper bound of its rows (quoted cells may hold breaks)."""


def scan_file(path: Path, encoding: str | None = None) -> FileScan:
    """The file's encoding (found unless given) and its line count, in one pass over its blocks."""
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ImportFileError("unknown_encoding", {"encoding": encoding}) from None
    decoder = codecs.getincrementaldecoder("utf-8")() if encoding is None else None
    utf8 = True
    lines = 0
    bad_cp1252: tuple[int, int] | None = None
    offset = 0
    last = b"\n"
    with path.open("rb") as stream:
        first = True
        while block := stream.read(SCAN_BLOCK):
            lines += block.count(b"\n")
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
    return FileScan(encoding, lines)


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
                raise ImportFileError(
                    "decoding", {"row": number, "encoding": self.encoding, "error": error.reason}, row=number
                ) from None
            except csv.Error as error:
                raise ImportFileError("csv_syntax", {"row": number, "error": str(error)}, row=number) from None
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
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise ImportFileError("bad_delimiter", {"delimiter": delimiter})
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
            raise ImportFileError(
                "decoding", {"row": 1, "encoding": scan.encoding, "error": error.reason}, row=1
            ) from None
        if not first.strip():
            raise ImportFileError("file_empty")
        delimiter = delimiter or detect_delimiter(first)
        header_cells = _header_cells(first, text, delimiter)
        header = tuple(cell.strip() for cell in header_cells)
        seen: set[str] = set()
        for name in header:
            if name and name in seen:
                raise ImportFileError("duplicate_header", {"header": name}, row=1, column=name)
            seen.add(name)
        reader = csv.reader(text, delimiter=delimiter)
    except BaseException:
        text.close()
        raise
    return CsvSource(path, scan.encoding, delimiter, header, max(scan.lines - header_row, 0), header_row, text, reader)


def _header_cells(first: str, rest: IO[str], delimiter: str) -> list[str]:
    """The header's cells; a quoted header cell may span lines, which are then read from `rest`."""
    text = first
    while text.count('"') % 2:  # a quote still open: the cell goes on on the next line
        more = rest.readline()
        if not more:
            raise ImportFileError("csv_syntax", {"row": 1, "error": "unterminated quote"}, row=1)
        text += more
    return next(csv.reader(io.StringIO(text), delimiter=delimiter))
