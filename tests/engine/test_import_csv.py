"""Reading CSV files for imports: encodings, separators, rows, and the file-level errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from engine.exchange import csv_source
from engine.exchange.csv_source import detect_delimiter, open_csv, scan_file
from engine.exchange.import_messages import ImportFileError


def write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path: Path, **kwargs) -> tuple[tuple[str, ...], list]:
    with open_csv(path, **kwargs) as source:
        return source.header, list(source)


@pytest.mark.parametrize("data,expected", [
    ("name\nRené\n".encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + "name\nRené\n".encode("utf-8"), "utf-8-sig"),
    ("name\nRené\n".encode("cp1252"), "cp1252"),
    (b"name\nplain ascii\n", "utf-8"),
])
def test_the_encoding_is_found(tmp_path, data, expected):
    assert scan_file(write(tmp_path, data)).encoding == expected
    assert read_all(write(tmp_path, data))[1] == [(2, {"name": data.decode(expected).splitlines()[1]})]


def test_a_file_valid_utf8_except_in_a_later_block_is_windows_1252(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_source, "SCAN_BLOCK", 16)
    data = ("name\n" + "x" * 100 + "\n" + "Agnès\n").encode("cp1252")
    path = write(tmp_path, data)
    assert scan_file(path).encoding == "cp1252"
    assert read_all(path)[1][-1] == (3, {"name": "Agnès"})


def test_a_multibyte_character_across_two_blocks_is_still_utf8(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_source, "SCAN_BLOCK", 7)
    path = write(tmp_path, "name\nééééé\n".encode("utf-8"))
    assert scan_file(path).encoding == "utf-8"


def test_a_file_neither_utf8_nor_windows_1252_is_refused_naming_the_byte(tmp_path):
    with pytest.raises(ImportFileError) as caught:
        scan_file(write(tmp_path, b"name\nab\x81c\n"))
    assert caught.value.message() == (
        "The file is neither UTF-8 nor Windows-1252 (byte 0x81 at offset 7): give its encoding."
    )


def test_a_wrong_given_encoding_fails_on_the_row_it_cannot_read(tmp_path):
    path = write(tmp_path, "name\nok\nRené\n".encode("cp1252"))
    with pytest.raises(ImportFileError) as caught:
        read_all(path, encoding="utf-8")
    assert caught.value.row is not None and "cannot be read as utf-8" in caught.value.message()


def test_an_unknown_encoding_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="Unknown encoding 'klingon'"):
        open_csv(write(tmp_path, b"name\n"), encoding="klingon")


@pytest.mark.parametrize("line,expected", [
    ("a;b;c", ";"), ("a,b,c", ","), ("a\tb\tc", "\t"), ("single", ","),
    ('"Name, full";Email', ";"), ("a;b,c;d", ";"), ('"x;y",b,c', ","),
])
def test_the_separator_is_the_one_the_header_uses_most_outside_quotes(line, expected):
    assert detect_delimiter(line + "\n") == expected


def test_rows_are_numbered_as_a_spreadsheet_numbers_them(tmp_path):
    path = write(tmp_path, b'a;b\n1;2\n\n"multi\nline";3\n4;5\n')
    header, rows = read_all(path)
    assert header == ("a", "b")
    assert rows == [(2, {"a": "1", "b": "2"}), (4, {"a": "multi\nline", "b": "3"}), (5, {"a": "4", "b": "5"})]


def test_header_cells_are_trimmed_and_a_quoted_header_may_span_lines(tmp_path):
    header, rows = read_all(write(tmp_path, b' a ;"b\nc"\n1;2\n'))
    assert header == ("a", "b\nc") and rows == [(2, {"a": "1", "b\nc": "2"})]


def test_a_quote_inside_a_header_cell_is_kept_and_an_unterminated_one_refused(tmp_path):
    assert read_all(write(tmp_path, b'Name;Size "EU"\nA;40\n'))[0] == ("Name", 'Size "EU"')
    with pytest.raises(ImportFileError, match="Row 1 is not valid CSV: unterminated quote"):
        open_csv(write(tmp_path, b'Name;"Size\nA;40\n', name="g.csv"))


def test_blank_lines_before_the_header_count_as_rows(tmp_path):
    header, rows = read_all(write(tmp_path, b"\n\na;b\n1;2\n"))
    assert header == ("a", "b") and rows == [(4, {"a": "1", "b": "2"})]


def test_extra_cells_are_kept_apart_for_the_importer_to_refuse(tmp_path):
    _, rows = read_all(write(tmp_path, b"a;b\n1;2;3;4\n1;2;;\n"))
    assert rows == [(2, {"a": "1", "b": "2", None: ["3", "4"]}), (3, {"a": "1", "b": "2"})]


def test_a_blank_header_column_is_dropped_unless_it_holds_a_value(tmp_path):
    _, rows = read_all(write(tmp_path, b"a;;b;\n1;;2;\n1;x;2;\n"))
    assert rows == [(2, {"a": "1", "b": "2"}), (3, {"a": "1", "b": "2", None: ["x"]})]


def test_a_header_named_twice_is_refused(tmp_path):
    with pytest.raises(ImportFileError) as caught:
        open_csv(write(tmp_path, b"a;b;a\n"))
    assert (caught.value.row, caught.value.column) == (1, "a")
    assert caught.value.message("fr") == "La colonne « a » figure deux fois dans l'en-tête."


@pytest.mark.parametrize("data", [b"", b"\n\n", codecs.BOM_UTF8, b"  \r\n"])
def test_an_empty_file_is_refused(tmp_path, data):
    with pytest.raises(ImportFileError, match="The file is empty"):
        open_csv(write(tmp_path, data))


def test_the_row_estimate_counts_lines_with_or_without_a_final_break(tmp_path):
    with open_csv(write(tmp_path, b"a\n1\n2\n3")) as source:
        assert source.estimated_rows == 3
    with open_csv(write(tmp_path, b"a\r\n1\r\n2\r\n", name="g.csv")) as source:
        assert source.estimated_rows == 2


def test_rows_stream_without_reading_the_whole_file(tmp_path):
    line = b"x" * 99 + b"\n"
    path = write(tmp_path, b"a\n" + line * 20_000)  # 2 MB
    with open_csv(path) as source:
        first = next(iter(source))
        position = source._text.buffer.tell()
    assert first == (2, {"a": "x" * 99})
    assert position < 256 * 1024


def test_a_missing_file_and_a_bad_separator_are_refused(tmp_path):
    with pytest.raises(ImportFileError, match="File not found"):
        open_csv(tmp_path / "nope.csv")
    with pytest.raises(ImportFileError, match="one character"):
        open_csv(write(tmp_path, b"a\n"), delimiter=";;")
