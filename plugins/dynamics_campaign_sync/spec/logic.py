"""The filter-logic language: ``all``, ``any`` or an expression such as ``1 and (2 or 3) and not 4``.

A small tokenizer and recursive-descent parser (no ``eval``) turn the text into
a tree of :class:`Ref`, :class:`Not`, :class:`And` and :class:`Or` nodes.
Precedence, from loosest to tightest: ``or``, ``and``, ``not``. Keywords are
case-insensitive. The same tree is rendered back to text for documentation and
evaluated over numpy boolean arrays by ``qualification.logic`` (not here: loading
a spec needs no numpy).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass


class LogicError(ValueError):
    """The logic text is not a valid expression over the spec's filters."""


@dataclass(frozen=True)
class Ref:
    """A reference to filter number ``number`` (counting from 1)."""

    number: int


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Ref | Not | And | Or

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+)|(?P<word>[A-Za-z_]+)|(?P<symbol>[()])|(?P<other>\S))")


@dataclass(frozen=True)
class _Token:
    kind: str  # number | and | or | not | ( | ) | end
    text: str
    column: int  # 1-based position in the text


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # only trailing whitespace is left
            break
        column = match.start(match.lastgroup) + 1 if match.lastgroup else position + 1
        if match.group("number") is not None:
            tokens.append(_Token("number", match.group("number"), column))
        elif match.group("word") is not None:
            word = match.group("word").lower()
            if word not in ("and", "or", "not"):
                raise LogicError(f"unknown word {match.group('word')!r} at column {column}; use and, or, not")
            tokens.append(_Token(word, match.group("word"), column))
        elif match.group("symbol") is not None:
            tokens.append(_Token(match.group("symbol"), match.group("symbol"), column))
        else:
            raise LogicError(f"unexpected character {match.group('other')!r} at column {column}")
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str, filter_count: int) -> None:
        self._tokens = _tokenize(text)
        self._index = 0
        self._filter_count = filter_count
        self._open: list[_Token] = []

    def parse(self) -> Node:
        if self._peek().kind == "end":
            raise LogicError("the expression is empty")
        node = self._or()
        token = self._peek()
        if token.kind == ")":
            raise LogicError(f"unbalanced parentheses: ')' at column {token.column} has no matching '('")
        if token.kind != "end":
            raise LogicError(f"expected 'and' or 'or' at column {token.column}, found {token.text!r}")
        return node

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _take(self) -> _Token:
        token = self._tokens[self._index]
        self._index += 1
        return token

    def _or(self) -> Node:
        return self._joined("or", self._and, Or)

    def _and(self) -> Node:
        return self._joined("and", self._not, And)

    def _joined(self, word: str, operand: Callable[[], Node], node: Callable[[tuple[Node, ...]], Node]) -> Node:
        """One operand, or several joined by ``word`` (``and`` binds tighter than ``or``: ``_or`` joins ``_and``s)."""
        operands = [operand()]
        while self._peek().kind == word:
            self._take()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else node(tuple(operands))

    def _not(self) -> Node:
        if self._peek().kind == "not":
            self._take()
            return Not(self._not())
        return self._atom()

    def _atom(self) -> Node:
        token = self._take()
        if token.kind == "number":
            number = int(token.text)
            if not 1 <= number <= self._filter_count:
                raise LogicError(
                    f"unknown filter number {number} at column {token.column}; "
                    f"the spec has filters 1 to {self._filter_count}"
                )
            return Ref(number)
        if token.kind == "(":
            if self._peek().kind == ")":
                raise LogicError(f"empty group '()' at column {token.column}")
            self._open.append(token)
            node = self._or()
            closing = self._take()
            if closing.kind != ")":
                if closing.kind == "end":
                    raise LogicError(f"unbalanced parentheses: '(' at column {token.column} is never closed")
                raise LogicError(f"expected ')' at column {closing.column}, found {closing.text!r}")
            self._open.pop()
            return node
        if token.kind == "end":
            raise LogicError("the expression ends too early: expected a filter number or '('")
        if token.kind == ")" and not self._open:
            raise LogicError(f"unbalanced parentheses: ')' at column {token.column} has no matching '('")
        raise LogicError(f"expected a filter number or '(' at column {token.column}, found {token.text!r}")


def parse_logic(text: str, filter_count: int) -> Node:
    """Parse ``all``, ``any`` or a custom expression over filters ``1..filter_count``."""
    keyword = text.strip().lower()
    numbers = tuple(Ref(n) for n in range(1, filter_count + 1))
    if keyword == "all":
        return numbers[0] if filter_count == 1 else And(numbers)
    if keyword == "any":
        return numbers[0] if filter_count == 1 else Or(numbers)
    return _Parser(text, filter_count).parse()


def references(node: Node) -> set[int]:
    """The filter numbers a tree mentions."""
    return {ref.number for ref in walk(node) if isinstance(ref, Ref)}


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children."""
    yield node
    if isinstance(node, Not):
        yield from walk(node.operand)
    elif isinstance(node, And | Or):
        for operand in node.operands:
            yield from walk(operand)


def render(node: Node) -> str:
    """Text for a tree, with parentheses only where precedence needs them."""
    if isinstance(node, Ref):
        return str(node.number)
    if isinstance(node, Not):
        inner = render(node.operand)
        return f"not {inner}" if isinstance(node.operand, Ref | Not) else f"not ({inner})"
    word = " and " if isinstance(node, And) else " or "
    texts = []
    for operand in node.operands:
        text = render(operand)
        if isinstance(operand, And | Or) and type(operand) is not type(node):
            text = f"({text})" if isinstance(operand, Or) else text
        texts.append(text)
    return word.join(texts)
