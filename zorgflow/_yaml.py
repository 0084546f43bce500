"""Strict, safe YAML reading that remembers where every node came from.

PyYAML's own loaders either run Python tags (``yaml.Loader``) or silently keep the last of two
equal keys (``yaml.SafeLoader``). Here we only *compose* the document (no constructor runs) and
build plain Python data ourselves, so that duplicate keys, tags and alias bombs become errors
with a line and column instead of surprises.

Composing uses libyaml's parser when PyYAML was built with it (most installs) and PyYAML's
pure-Python one otherwise, and for wording syntax errors. They give the same nodes and
positions; libyaml alone reads a few odd texts that PyYAML's scanner refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from .errors import Problem

Path = tuple[str | int, ...]

#: A file whose aliases expand to more nodes than this is refused ("billion laughs").
MAX_NODES = 100_000
#: Deeper nesting than this is refused (a workflow needs far less).
MAX_DEPTH = 64
#: Larger files are refused before parsing, counted in bytes of UTF-8 (a file on disk before it
#: is read, text given in memory as it would be written).
MAX_BYTES = 4 * 1024 * 1024
#: A document whose aliases, written out, would make it larger than this many bytes is refused
#: at the alias that crosses it: aliases may repeat text, not make a document larger than a
#: file may be (so a 1 MB file cannot load as, and draw, hundreds of MB).
MAX_EXPANDED_BYTES = MAX_BYTES

_DEEP = f"nesting deeper than {MAX_DEPTH} levels; flatten the document"
_MB = f"{MAX_BYTES // 1024 // 1024} MB ({MAX_BYTES:,} bytes)"
#: text is measured in slices of this many characters (no copy of a large text at once)
_SLICE = 1 << 16
_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP = _CORE + "seq", _CORE + "map"
_ALLOWED_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP}


class _StrictResolver(BaseResolver):
    """YAML 1.2-like scalars: only true/false are booleans, and no implicit timestamps."""


_StrictResolver.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictResolver.add_implicit_resolver(
    _INT, re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_StrictResolver.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789"),
)
_StrictResolver.add_implicit_resolver(
    _NULL, re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


def utf8_size(text: str) -> int:
    """The number of bytes ``text`` takes in UTF-8 (a lone surrogate counted as 3), measured
    without encoding all of it at once."""
    if text.isascii():
        return len(text)
    return sum(len(text[i:i + _SLICE].encode("utf-8", "surrogatepass"))
               for i in range(0, len(text), _SLICE))


def size_problem(file: str, size: int | None) -> Problem:
    """The `Problem` (at ``file:1:1``) for a file of ``size`` bytes, more than `MAX_BYTES`;
    ``None`` when reading stopped at the limit, so that the whole size is not known."""
    what = (f"{size / 1024 / 1024:.1f} MB ({size:,} bytes), larger than {_MB}"
            if size is not None else f"larger than {_MB} (it grew while it was read)")
    return Problem(file, 1, 1, f"the file is {what}, the most zorgflow reads; a workflow is "
                               "far smaller: split it into smaller workflows or shorten its "
                               "texts")


class _ComposingLoader(Reader, Scanner, Parser, Composer, _StrictResolver):
    """Reads a YAML stream into nodes; constructs nothing."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _StrictResolver.__init__(self)


try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CComposingLoader: type | None = None
else:

    class _CComposingLoader(CParser, _StrictResolver):  # type: ignore[no-redef]
        """The same nodes from libyaml's parser, several times faster."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _StrictResolver.__init__(self)


#: characters that send a text to PyYAML's parser (see `_compose`)
_PYYAML_ONLY = re.compile("[\t\x85\u2028\u2029]")

#: Both composers recurse once per level of nesting: PyYAML's hits Python's recursion limit
#: after a few hundred levels, libyaml's crashed the process at 100,000 (a 200 KB line of
#: brackets). A text that could nest that deep has its depth measured from the parser's events
#: (which need no recursion) before it is composed.
_BRACKETS_TRUSTED = 1_000


_BAD_ESCAPE = ("YAML syntax error: an escape in a double-quoted string names no character "
               "(the largest is \\U0010FFFF); write the character itself or a valid escape")


class _Refused(Exception):
    """Reading stops with ``message`` at ``line``, ``column`` (1-based)."""

    def __init__(self, line: int, column: int, message: str = _DEEP) -> None:
        self.line, self.column, self.message = line, column, message


def _compose(text: str, size: int) -> Node | None:
    """The document's node tree (``size`` is the text's length in bytes). Raises
    `yaml.YAMLError` for a syntax error, and `_Refused` for nesting deeper than `MAX_DEPTH` or
    aliases that would make the document too large."""
    # libyaml accepts tabs where PyYAML's own scanner refuses them ("id:<tab>1"), counts a
    # byte-order mark inside a line as a column, and places an empty flow value before a
    # YAML 1.1 line break (NEL, LS, PS) on the next line: such texts go to PyYAML, so that a
    # file reads the same (positions included) whether PyYAML was built with libyaml or not
    if _CComposingLoader is not None and not _PYYAML_ONLY.search(text) \
            and "\ufeff" not in text[1:]:
        try:
            if text.count("[") + text.count("{") > _BRACKETS_TRUSTED:
                _refuse_deep(_CComposingLoader(text))
            fast = _CComposingLoader(text)
            try:
                node = fast.get_single_node()
            finally:
                fast.dispose()
        except (yaml.YAMLError, UnicodeEncodeError):
            # the pure-Python parser below words the error and its position as always (libyaml
            # first encodes the text as UTF-8, which a lone surrogate cannot be)
            pass
        else:
            if _may_alias(text):
                _refuse_expansion(_CComposingLoader(text), size)
            return node  # type: ignore[no-any-return]
    loader = _ComposingLoader(text)
    try:
        node = loader.get_single_node()
    except RecursionError:
        _refuse_deep(_ComposingLoader(text))
        raise _Refused(1, 1) from None
    except (ValueError, OverflowError):
        # PyYAML's scanner calls chr() on a double-quoted escape without checking it, so
        # "\U00110000" (beyond Unicode) raises ValueError and "\UFFFFFFFF" OverflowError
        # instead of a YAMLError
        mark = loader.get_mark()  # just after "\U": the column of the backslash is 2 before
        raise _Refused(mark.line + 1, max(1, mark.column - 1), _BAD_ESCAPE) from None
    finally:
        loader.dispose()
    if _may_alias(text):
        _refuse_expansion(_ComposingLoader(text), size)
    return node


def _may_alias(text: str) -> bool:
    """Whether ``text`` may hold an alias (``*name``, of an ``&name`` anchor)."""
    return "*" in text and "&" in text


def _refuse_deep(parser: Any) -> None:
    """Raise `_Refused` at the first collection nested deeper than `MAX_DEPTH`."""
    depth = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH + 1:  # the root collection is level 0
                    raise _Refused(*_position(event))
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    finally:
        parser.dispose()


def _position(event: Any) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


@dataclass(slots=True)
class _Open:
    """A collection being read: what it holds with its aliases written out."""

    anchor: str | None
    mapping: bool
    as_key: bool
    size: int = 0
    nodes: int = 1
    items: int = 0


def _refuse_expansion(parser: Any, size: int) -> None:
    """Raise `_Refused` at the first alias that makes the document, with its aliases written
    out, hold more than `MAX_NODES` nodes or take more than `MAX_EXPANDED_BYTES` bytes.

    The composed tree shares an anchored node between its aliases, so its size cannot tell;
    this reads the parser's events once (no recursion), keeping for every anchor the bytes of
    text and the nodes it holds, aliases inside it written out. Nodes are counted as the
    builder counts them (keys are not nodes). ``size`` (the file's own bytes) is the start:
    written out, an alias adds at least the text it repeats.
    """
    anchors: dict[str, tuple[int, int]] = {}
    stack: list[_Open] = []
    total_size, total_nodes = size, 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, CollectionEndEvent):
                done = stack.pop()
                if done.anchor is not None:
                    anchors[done.anchor] = (done.size, done.nodes)
                if stack:
                    stack[-1].size += done.size
                    stack[-1].nodes += 0 if done.as_key else done.nodes
                continue
            if not isinstance(event, ScalarEvent | AliasEvent | CollectionStartEvent):
                continue
            parent = stack[-1] if stack else None
            as_key = parent is not None and parent.mapping and parent.items % 2 == 0
            if parent is not None:
                parent.items += 1
            if isinstance(event, CollectionStartEvent):
                stack.append(_Open(event.anchor, isinstance(event, MappingStartEvent), as_key))
                total_nodes += 0 if as_key else 1
                continue
            if isinstance(event, ScalarEvent):
                text_size, nodes = utf8_size(event.value), 1
                if event.anchor is not None:
                    anchors[event.anchor] = (text_size, nodes)
            else:  # an alias of a node still open (recursive) is refused by the builder
                text_size, nodes = anchors.get(event.anchor or "", (0, 0))
                total_size += text_size
            nodes = 0 if as_key else nodes
            total_nodes += nodes
            if parent is not None:
                parent.size += text_size
                parent.nodes += nodes
            if isinstance(event, AliasEvent):
                _check_expansion(event, text_size, total_size, total_nodes)
    finally:
        parser.dispose()


def _check_expansion(alias: AliasEvent, size: int, total_size: int, total_nodes: int) -> None:
    if total_nodes > MAX_NODES:
        raise _Refused(*_position(alias), _too_many_nodes())
    if total_size > MAX_EXPANDED_BYTES:
        raise _Refused(*_position(alias), (
            f"the alias '*{alias.anchor}' repeats {size:,} bytes of text, which makes the "
            f"document, with its aliases written out, larger than "
            f"{MAX_EXPANDED_BYTES // 1024 // 1024} MB ({MAX_EXPANDED_BYTES:,} bytes), the most "
            "zorgflow reads: repeat long texts less often (write them once), or split the "
            "workflow into smaller ones"))


def _too_many_nodes() -> str:
    return (f"the document expands to more than {MAX_NODES:,} nodes (aliases expanding"
            " exponentially?); write the content out or split the file")


@dataclass(slots=True)
class Document:
    """Plain data read from YAML, with the position of every value and key (1-based)."""

    file: str
    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The position of ``path`` (its key with ``key=True``), else of its nearest ancestor."""
        if key and path in self.key_marks:
            return self.key_marks[path]
        while True:
            if path in self.marks:
                return self.marks[path]
            if not path:
                return (0, 0)
            path = path[:-1]

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        """A `Problem` located at ``path``."""
        line, column = self.where(path, key=key)
        return Problem(self.file, line, column, message)


class _TooLarge(Exception):
    def __init__(self, node: Node, message: str) -> None:
        self.node = node
        self.message = message


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.count = 0

    def at(self, node: Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def report(self, node: Node, message: str) -> None:
        line, column = self.at(node)
        self.problems.append(Problem(self.doc.file, line, column, message))

    def build(self, node: Node, path: Path, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLarge(node, _too_many_nodes())
        if depth > MAX_DEPTH:
            raise _TooLarge(node, _DEEP)
        self.doc.marks[path] = self.at(node)
        if node.tag not in _ALLOWED_TAGS:
            self.report(
                node,
                f"tag '{node.tag}' is not allowed: zorgflow reads plain YAML only"
                " (remove the tag)",
            )
            return None
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        result: dict[str, Any] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (_STR, _INT):
                self.report(key_node, "a key must be a plain name, not a list or mapping")
                continue
            key = str(key_node.value)
            if key == "<<":
                self.report(key_node, "merge keys ('<<') are not supported: write the keys out")
                continue
            if key in first_seen:
                line, _ = self.at(first_seen[key])
                self.report(
                    key_node,
                    f"duplicate key '{key}' (first given on line {line}); YAML would silently"
                    " keep only the last one: remove or rename one of them",
                )
                continue
            first_seen[key] = key_node
            self.doc.key_marks[(*path, key)] = self.at(key_node)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def scalar(self, node: ScalarNode) -> Any:
        text = node.value
        if node.tag == _STR:
            return text
        if node.tag == _NULL:
            return None
        if node.tag == _BOOL:
            if text.lower() in ("true", "false"):
                return text.lower() == "true"
            self.report(node, f"'{text}' is not a boolean: write true or false")
            return None
        try:
            if node.tag == _INT:
                return int(text.replace("_", ""))
            return float(text.replace("_", ""))
        except ValueError:
            self.report(node, f"'{text}' is not a valid number")
            return None


def _unreadable_character(file: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow (a control character, a lone surrogate) at its place."""
    at = exc.position
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return Problem(file, line, column, f"YAML does not allow the character U+{code:04X} here; "
                   "remove it (a control character or half of a broken character pair)")


def read_yaml(text: str, file: str) -> tuple[Document, list[Problem]]:
    """Read ``text`` strictly. Returns the document and the problems found (possibly many).

    A syntax error, a text of more than `MAX_BYTES` bytes (UTF-8), nesting deeper than
    `MAX_DEPTH` or aliases that expand too far (`MAX_NODES`, `MAX_EXPANDED_BYTES`) stops
    reading: the document's data is then ``None`` and the single problem says why.
    """
    doc = Document(file, None)
    size = utf8_size(text)
    if size > MAX_BYTES:
        return doc, [size_problem(file, size)]
    try:
        node = _compose(text, size)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        opened = exc.context_mark
        if exc.context and exc.problem and opened is not None and mark is not None \
                and (opened.line, opened.column) != (mark.line, mark.column):
            # the mistake is often where the unclosed thing began, not where reading stopped
            what = (f"{exc.context} that starts at line {opened.line + 1}, column "
                    f"{opened.column + 1}, {exc.problem}")
        return doc, [Problem(file, line, column, f"YAML syntax error: {what}")]
    except yaml.reader.ReaderError as exc:
        return doc, [_unreadable_character(file, text, exc)]
    except yaml.YAMLError as exc:
        return doc, [Problem(file, 0, 0, f"YAML error: {exc}")]
    except _Refused as exc:
        return doc, [Problem(file, exc.line, exc.column, exc.message)]
    if node is None:
        return doc, [Problem(file, 1, 1, "the file is empty")]
    builder = _Builder(doc)
    try:
        doc.data = builder.build(node, (), 0)
    except _TooLarge as exc:
        doc.data = None
        line, column = builder.at(exc.node)
        return doc, [Problem(file, line, column, exc.message)]
    return doc, builder.problems
