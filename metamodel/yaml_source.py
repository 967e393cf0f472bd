"""Read one YAML document into plain Python data, keeping the line of every value.

PyYAML's C composer (`CSafeLoader`) builds the node tree; walking it here instead of
letting PyYAML construct objects gives three things the loader needs: a map from each
value's path to its line, duplicate keys reported as errors (PyYAML keeps the last one
silently), and scalars kept as authors wrote them where YAML would guess too much
(an ISO date stays a string; a mapping key is always the key's text).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Union

import yaml

from metamodel.errors import MAX_PROBLEMS, Problem

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

PathKey = tuple[Union[str, int], ...]
"""A path inside a document: mapping keys and list indices from the root."""

MAX_DEPTH = 40
"""Deeper nesting than any definition needs; refused so walking cannot exhaust the stack."""
MAX_VALUES = 200_000
"""Values in one document once aliases are expanded: far above any real definition, and a
stop for alias bombs (`&a [*b, *b, ...]` nested), which later checks would walk in full."""
MAX_DOCUMENT_BYTES = 1_048_576
"""Largest definition document (1 MiB, fifty times the largest base-pack document): a bigger
file is refused before it is parsed, so that a runaway file cannot hold the loader's memory."""
MAX_TEXT_LENGTH = 10_000
"""Longest text value (a label, a help text, a pattern...) or mapping key in a document."""

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_TIMESTAMP, _MERGE, _MAP, _SEQ = (_TAG + t for t in ("timestamp", "merge", "map", "seq"))
_constructor = yaml.constructor.SafeConstructor()
_SCALAR_CONVERTERS = {
    _INT: _constructor.construct_yaml_int,
    _FLOAT: _constructor.construct_yaml_float,
    _BOOL: _constructor.construct_yaml_bool,
    _NULL: lambda node: None,
    _TIMESTAMP: lambda node: node.value,
}


def dotted(path: PathKey) -> str:
    """`("statuses", 2, "sequence")` -> `statuses.2.sequence`; the root is `$`."""
    return ".".join(map(str, path)) if path else "$"


def display_name(path: Path) -> str:
    """The file as problems show it: relative to the working directory when inside it."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


class Document:
    """A parsed YAML document: its data plus the line of every value and mapping key."""

    __slots__ = ("file", "data", "lines", "key_lines")

    def __init__(self, file: str, data: Any, lines: dict[PathKey, int], key_lines: dict[PathKey, int]) -> None:
        self.file = file
        self.data = data
        self.lines = lines
        self.key_lines = key_lines

    def line(self, path: PathKey) -> int:
        """Line of the value at `path`, or of its nearest ancestor when absent (a missing key)."""
        lines = self.lines
        while path not in lines and path:
            path = path[:-1]
        return lines.get(path, 1)

    def key_line(self, path: PathKey) -> int:
        """Line of the mapping key that ends `path` (where an unknown property is written)."""
        line = self.key_lines.get(path)
        return line if line is not None else self.line(path)

    def problem(self, path: PathKey, message: str, *, at_key: bool = False) -> Problem:
        line = self.key_line(path) if at_key else self.line(path)
        return Problem(self.file, line, dotted(path), message)

    def __repr__(self) -> str:
        return f"Document({self.file!r})"


def read_document(path: Path, file: str | None = None) -> tuple[Document | None, list[Problem]]:
    """Parse `path`; on any problem return `(None, problems)` and never raise for bad input."""
    file = file or display_name(path)
    text, problems = read_text(path, file)
    if text is None:
        return None, problems
    return parse_text(text, file)


def read_text(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """The file's text (UTF-8, a byte-order mark dropped), or the problem reading it."""
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            return None, [_too_large(file, size)]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(file, 1, "$", f"cannot be read: {exc.strerror or exc}")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, [Problem(file, line, "$", f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x})")]


def _too_large(file: str, size: int) -> Problem:
    return Problem(file, 1, "$", f"the document is {size:,} bytes, more than the {MAX_DOCUMENT_BYTES:,} a definition "
                                 f"document may have: split it into several documents")


def parse_text(text: str, file: str) -> tuple[Document | None, list[Problem]]:
    if len(text) > MAX_DOCUMENT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        return None, [_too_large(file, len(text.encode("utf-8", "surrogatepass")))]
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return None, [Problem(file, _error_line(exc), "$", _syntax_message(exc))]
    except yaml.YAMLError as exc:
        return None, [Problem(file, 1, "$", f"YAML error: {exc}")]
    if root is None:
        return None, [Problem(file, 1, "$", "the document is empty")]
    walker = _Walker(file)
    data = walker.value(root, (), 0)
    if walker.problems:
        return None, walker.problems
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"the scalar {data!r}"
        return None, [Problem(file, root.start_mark.line + 1, "$", f"the document must be a mapping, not {kind}")]
    return Document(file, data, walker.lines, walker.key_lines), []


def _error_line(exc: yaml.MarkedYAMLError) -> int:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark is not None else 1


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "invalid YAML"
    if not exc.context:
        return f"YAML syntax error: {problem}"
    if exc.context_mark is not None and exc.problem_mark is not None and exc.context_mark.line != exc.problem_mark.line:
        return f"YAML syntax error: {problem} ({exc.context} started on line {exc.context_mark.line + 1})"
    return f"YAML syntax error: {problem} ({exc.context})"


class _Walker:
    """Turns a composed node tree into dicts, lists and scalars, recording lines as it goes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[PathKey, int] = {}
        self.key_lines: dict[PathKey, int] = {}
        self.problems: list[Problem] = []
        self._done: dict[int, Any] = {}
        self._sizes: dict[int, int] = {}
        self._active: set[int] = set()
        self.count = 0
        """Values walked so far, aliases counted as many times as they are used."""

    def _problem(self, node: yaml.Node, path: PathKey, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:  # the loader shows that many; more would only cost memory
            self.problems.append(Problem(self.file, node.start_mark.line + 1, dotted(path), message))

    def _text(self, node: yaml.ScalarNode, path: PathKey) -> str | None:
        if len(node.value) > MAX_TEXT_LENGTH:
            self._problem(node, path, f"a text of {len(node.value):,} characters: at most {MAX_TEXT_LENGTH:,} are allowed")
            return None
        return node.value

    def value(self, node: yaml.Node, path: PathKey, depth: int) -> Any:
        self.lines[path] = node.start_mark.line + 1
        self.count += 1
        if isinstance(node, yaml.ScalarNode):
            tag = node.tag
            if tag == _STR:
                return self._text(node, path)
            convert = _SCALAR_CONVERTERS.get(tag)
            if convert is None:
                self._problem(node, path, f"unsupported YAML tag {tag!r}")
                return None
            try:
                return convert(node)
            except (ValueError, yaml.YAMLError):
                self._problem(node, path, f"{node.value!r} is not a valid {tag.rsplit(':', 1)[-1]}")
                return None
        # Aliases share one node object: convert it once, refuse an alias to itself.
        ident = id(node)
        if ident in self._done:
            self.count += self._sizes[ident]
            if self.count > MAX_VALUES:
                if not any(p.message.startswith("aliases expand") for p in self.problems):
                    line = self.lines.get(path[:-1], node.start_mark.line + 1)  # where the alias is used
                    self.problems.append(Problem(self.file, line, dotted(path), f"aliases expand to more than {MAX_VALUES} values"))
                return None
            return self._done[ident]
        if ident in self._active:
            self._problem(node, path, "a YAML alias refers to itself")
            return None
        if depth >= MAX_DEPTH:
            self._problem(node, path, f"nested more than {MAX_DEPTH} levels deep")
            return None
        self._active.add(ident)
        before = self.count
        try:
            if isinstance(node, yaml.MappingNode):
                result: Any = self._mapping(node, path, depth)
            else:
                if node.tag != _SEQ:
                    self._problem(node, path, f"unsupported YAML tag {node.tag!r}")
                result = [self.value(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        finally:
            self._active.discard(ident)
        self._done[ident] = result
        self._sizes[ident] = self.count - before
        return result

    def _mapping(self, node: yaml.MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        if node.tag != _MAP:
            self._problem(node, path, f"unsupported YAML tag {node.tag!r}")
        result: dict[str, Any] = {}
        merged: list[yaml.Node] = []
        key_lines = self.key_lines
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, path, "a mapping key must be a plain value, not a list or mapping")
                continue
            if key_node.tag == _MERGE:
                merged.append(value_node)
                continue
            key = self._text(key_node, path)
            if key is None:
                continue
            child = path + (key,)
            line = key_node.start_mark.line + 1
            if key in result:
                self._problem(key_node, child, f"duplicate key '{key}' (first on line {key_lines[child]})")
                continue
            key_lines[child] = line
            result[key] = self.value(value_node, child, depth + 1)
        for source in merged:
            self._merge(source, result, path, depth)
        return result

    def _merge(self, source: yaml.Node, result: dict[str, Any], path: PathKey, depth: int) -> None:
        """`<<: *defaults` adds the keys the mapping does not set itself."""
        sources = source.value if isinstance(source, yaml.SequenceNode) else [source]
        for item in sources:
            if not isinstance(item, yaml.MappingNode):
                self._problem(item, path, "a merge key (<<) must refer to a mapping")
                continue
            values = self.value(item, path + ("<<",), depth)
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                if key not in result:
                    result[key] = value
                    self.key_lines.setdefault(path + (key,), item.start_mark.line + 1)
