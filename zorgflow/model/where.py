"""Where an element of a workflow stands in its file, so that any later stage (compiling,
verifying, another rules back end) can report a mistake at ``file:line:column`` without
reading the file again."""

from __future__ import annotations

from dataclasses import dataclass

from .._frozen import Frozen


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Where(Frozen):
    """A position in a workflow file; ``line`` and ``column`` are 1-based, 0 when unknown.

    For the text of an expression it also knows how the text is written, to find a column
    inside it: ``quoted`` when it starts with a quote, and ``block`` for a block scalar
    (``>`` or ``|``): the line, indentation and length of each of its non-empty lines.
    """

    file: str = ""
    line: int = 0
    column: int = 0
    quoted: bool = False
    block: tuple[tuple[int, int, int], ...] = ()

    def at(self, offset: int) -> tuple[int, int]:
        """The file position of character ``offset`` of the text that starts here (block
        lines joined by single spaces, as the expression reader joins them)."""
        if self.block:
            remaining = offset
            for line, indent, length in self.block:
                if remaining <= length:
                    return line, indent + remaining + 1
                remaining -= length + 1
            return self.line, 1
        if not self.line:
            return 0, 0
        return self.line, self.column + offset + (1 if self.quoted else 0)


#: The position of something not read from a file.
NOWHERE = Where()


class Expression(str):
    """The text of a condition or value expression that remembers where it stands in its
    file (`where`). It is a `str` in every other respect; text made in code is `NOWHERE`."""

    where: Where

    def __new__(cls, text: str, where: Where = NOWHERE) -> Expression:
        self = super().__new__(cls, text)
        self.where = where
        return self

    def __reduce__(self) -> tuple[type[Expression], tuple[str, Where]]:
        return Expression, (str(self), self.where)


def where_of(text: str, file: str = "") -> Where:
    """Where ``text`` stands: its own position for an `Expression`, else unknown."""
    found = getattr(text, "where", None)
    return found if isinstance(found, Where) else Where(file)
