"""Reading CSV files for imports: encodings, separators, rows, and the file-level errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from engine.exchange import csv_source
from engine.exchange.csv_source import detect_delimiter, open_csv, scan_file
from engine.exchange.import_messages import ImportFileError, ImportFileProblems, ImportOptionError


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
    with pytest.raises(ImportOptionError, match="Unknown encoding 'klingon'") as caught:
        open_csv(write(tmp_path, b"name\n"), encoding="klingon")
    assert caught.value.parameter == "encoding"


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
    with pytest.raises(ImportFileError, match="A quote opened in the header is never closed."):
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
    with pytest.raises(ImportOptionError, match="one character"):
        open_csv(write(tmp_path, b"a\n"), delimiter=";;")


# -- characters no database stores, and the reader's own words ----------------------------------


@pytest.mark.parametrize("header,position,shown", [
    (b"\x00name,email", 1, "\\u0000name"),
    (b"name,em\x00ail", 2, "em\\u0000ail"),
    (b"name,email\x00", 2, "email\\u0000"),
])
def test_a_header_holding_nul_is_refused_naming_its_column(tmp_path, header, position, shown):
    with pytest.raises(ImportFileProblems) as caught:
        open_csv(write(tmp_path, header + b"\nAnn,a@example.org\n"))
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (1, shown)
    assert problem.message("en") == (
        f"Column {position} of the header ('{shown}') contains the character U+0000 (NUL), which cannot be stored: "
        "remove it from the file.")
    assert problem.message("fr").startswith(f"La colonne {position} de l'en-tête (« {shown} »)")
    assert "\x00" not in problem.message("en") + problem.message("fr")


def test_every_header_holding_nul_is_named_at_once(tmp_path):
    with pytest.raises(ImportFileProblems) as caught:
        open_csv(write(tmp_path, b"a\x00,b,c\x00\n1,2,3\n"))
    assert [p.params["position"] for p in caught.value.problems] == [1, 3]


def test_a_header_without_nul_but_cells_with_one_opens_and_says_the_file_is_not_clean(tmp_path):
    with open_csv(write(tmp_path, b"name\nA\x00nn\n")) as source:
        assert source.clean is False and list(source) == [(2, {"name": "A\x00nn"})]
    with open_csv(write(tmp_path, b"name\nAnn\n", name="g.csv")) as source:
        assert source.clean is True


@pytest.mark.parametrize("encoding,clean", [("utf-8", True), ("cp1252", True), ("utf-16", False)])
def test_only_an_encoding_making_nul_from_a_zero_byte_alone_lets_the_scan_vouch_for_the_cells(
    tmp_path, encoding, clean
):
    path = write(tmp_path, "name\nRené\n".encode(encoding))
    assert scan_file(path, encoding).clean is clean


def test_a_row_the_encoding_cannot_read_names_the_byte_not_the_decoders_words(tmp_path):
    path = write(tmp_path, b"name\nok\nRen\xe9\n")
    with pytest.raises(ImportFileError) as caught:
        read_all(path, encoding="utf-8")
    row = caught.value.row
    assert caught.value.message() == f"Row {row} cannot be read as utf-8 (byte 0xE9): check the file's encoding."
    assert caught.value.message("fr") == (
        f"La ligne {row} ne peut pas être lue en utf-8 (octet 0xE9) : vérifiez l'encodage du fichier.")


def test_a_cell_over_the_readers_limit_is_said_with_the_limit(tmp_path, monkeypatch):
    import csv

    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(10)
        path = write(tmp_path, b"name\n" + b"x" * 10 + b"\n" + b"y" * 11 + b"\n")
        with pytest.raises(ImportFileError) as caught:
            read_all(path)
    finally:
        csv.field_size_limit(limit)
    assert caught.value.message() == "Row 3 has a cell longer than 10 characters."
    assert caught.value.message("fr") == "La ligne 3 a une cellule de plus de 10 caractères."


def test_any_other_csv_error_is_logged_with_an_id_the_message_gives(tmp_path, caplog):
    import csv

    def broken(*args, **kwargs):
        def rows():
            raise csv.Error("some reader detail")
            yield
        return rows()

    path = write(tmp_path, b"name\nAnn\n")
    with caplog.at_level("WARNING", logger="engine.exchange.csv_source"):
        with pytest.raises(ImportFileError) as caught:
            with open_csv(path) as source:
                source._reader = broken()
                list(source)
    error_id = caught.value.params["error_id"]
    assert caught.value.message() == f"Row 2 is not valid CSV (error id {error_id})."
    assert "some reader detail" not in caught.value.message("en") + caught.value.message("fr")
    assert any(error_id in r.getMessage() and "some reader detail" in r.getMessage() for r in caplog.records)
