"""``$filter``: a tokenizer and recursive-descent parser for the OData subset Dataverse supports, compiled to SQL.

Grammar (lowest precedence first, as in the OData ABNF)::

    expr    := and ('or' and)*
    and     := cmp ('and' cmp)*
    cmp     := unary (('eq'|'ne'|'gt'|'ge'|'lt'|'le') unary)?
    unary   := 'not' unary | primary
    primary := '(' expr ')' | literal | function '(' args ')' | property

Like Dataverse, string comparisons are case-insensitive and ``contains``/``startswith``/``endswith`` pass
``%`` and ``_`` through as wildcards. Errors use the messages of the OData layer, so a query that fails here
fails the same way against a real org.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request, not_implemented
from .schema import BOOL, DATETIME, DECIMAL, EDM_TYPES, GUID, INT, STRING, EntityDef

NULL_T, BOOL_EXPR = "null", "boolexpr"
_LITERAL_EDM = {**EDM_TYPES, NULL_T: "null", BOOL_EXPR: "Edm.Boolean"}
_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_OP_KIND = {"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual",
            "lt": "LessThan", "le": "LessThanOrEqual"}
_STRING_FUNCS = {"contains": ("%", "%"), "startswith": ("", "%"), "endswith": ("%", "")}
_DATAVERSE_FUNCS = {"microsoft.dynamics.crm.in": False, "microsoft.dynamics.crm.notin": True}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?(?![\w-]))
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?(?![\w.]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[(),=])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # string, guid, datetime, number, ident, punct, array, end
    value: Any
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            j, parts = i + 1, []
            while True:
                k = text.find("'", j)
                if k < 0:
                    raise bad_request(f"There is an unterminated literal at position {len(text)} in '{text}'.")
                parts.append(text[j:k])
                if text.startswith("'", k + 1):  # '' is an escaped quote
                    parts.append("'")
                    j = k + 2
                    continue
                tokens.append(Token("string", "".join(parts), i))
                i = k + 1
                break
            continue
        if ch == "[":  # JSON array argument of the Microsoft.Dynamics.CRM.In family
            try:
                value, end = json.JSONDecoder().raw_decode(text, i)
            except ValueError:
                raise bad_request(f"Invalid JSON array at position {i} in '{text}'.") from None
            tokens.append(Token("array", value, i))
            i = end
            continue
        m = _TOKEN.match(text, i)
        if not m:
            raise bad_request(f"Syntax error: character '{ch}' is not valid at position {i} in '{text}'.")
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), i))
        i = m.end()
    tokens.append(Token("end", None, len(text)))
    return tokens


# AST nodes: plain tuples keep the parser small. ("lit", type, value) ("prop", name) ("cmp", op, l, r)
# ("and", l, r) ("or", l, r) ("not", x) ("call", name, args, pos) ("named", name, value) ("array", list)
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, tok: Token | None = None) -> Exception:
        tok = tok or self.tok
        return bad_request(f"Syntax error at position {tok.pos} in '{self.text}'.")

    def keyword(self, *words: str) -> str | None:
        tok = self.tok
        if tok.kind == "ident" and tok.value.lower() in words:
            self.i += 1
            return tok.value.lower()
        return None

    def punct(self, ch: str) -> bool:
        if self.tok.kind == "punct" and self.tok.value == ch:
            self.i += 1
            return True
        return False

    def parse(self) -> tuple:
        if self.tok.kind == "end":
            raise bad_request("The $filter query option must not be empty.")
        node = self.expr()
        if self.tok.kind != "end":
            raise self.error()
        return node

    def expr(self) -> tuple:
        node = self.conj()
        while self.keyword("or"):
            node = ("or", node, self.conj())
        return node

    def conj(self) -> tuple:
        node = self.comparison()
        while self.keyword("and"):
            node = ("and", node, self.comparison())
        return node

    def comparison(self) -> tuple:
        left = self.unary()
        op = self.keyword(*_OPS)
        if op:
            return ("cmp", op, left, self.unary())
        return left

    def unary(self) -> tuple:
        if self.keyword("not"):
            return ("not", self.unary())
        return self.primary()

    def primary(self) -> tuple:
        tok = self.tok
        if self.punct("("):
            node = self.expr()
            if not self.punct(")"):
                raise self.error()
            return node
        self.i += 1
        if tok.kind == "string":
            return ("lit", STRING, tok.value)
        if tok.kind == "guid":
            return ("lit", GUID, tok.value.lower())
        if tok.kind == "datetime":
            return ("lit", DATETIME, _normalize_datetime(tok.value, self.text))
        if tok.kind == "number":
            raw = tok.value.rstrip("mMdDfFlL")
            if re.fullmatch(r"-?\d+", raw):
                return ("lit", INT, int(raw))
            return ("lit", DECIMAL, float(raw))
        if tok.kind == "array":
            return ("array", tok.value)
        if tok.kind == "ident":
            word = tok.value.lower()
            if word in ("true", "false"):
                return ("lit", BOOL, word == "true")
            if word == "null":
                return ("lit", NULL_T, None)
            if self.tok.kind == "punct" and self.tok.value == "(":
                return self.call(tok)
            if self.tok.kind == "punct" and self.tok.value == "=":  # named argument: Name=value
                self.i += 1
                return ("named", tok.value, self.primary())
            return ("prop", tok.value)
        raise self.error(tok)

    def call(self, name_tok: Token) -> tuple:
        self.punct("(")
        args: list[tuple] = []
        if not self.punct(")"):
            while True:
                args.append(self.expr())
                if self.punct(")"):
                    break
                if not self.punct(","):
                    raise self.error()
        return ("call", name_tok.value, args, name_tok.pos)


def _normalize_datetime(value: str, text: str) -> str:
    try:
        if "T" not in value:
            parsed = datetime.fromisoformat(value).replace(tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(f"Unrecognized 'Edm.DateTimeOffset' literal '{value}' in '{text}'.") from None
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Compiler:
    """Type-checks the AST against the table and emits a parameterised SQLite expression."""

    def __init__(self, entity: EntityDef, text: str) -> None:
        self.entity = entity
        self.text = text
        self.params: list[Any] = []

    def unknown_property(self, name: str) -> Exception:
        return bad_request(f"Could not find a property named '{name}' on type '{self.entity.type_name}'.")

    def compile(self, node: tuple) -> tuple[str, str]:
        """Return ``(sql, type)``."""
        kind = node[0]
        if kind == "lit":
            _, typ, value = node
            if typ == NULL_T:
                return "NULL", NULL_T
            self.params.append(int(value) if typ == BOOL else value)
            return "?", typ
        if kind == "prop":
            name = node[1]
            if "/" in name:
                raise not_implemented("Filtering on related tables")
            col = self.entity.column(name)
            if col is None:
                raise self.unknown_property(name)
            return f'"{col.name}"', col.type
        if kind in ("and", "or"):
            left = self.boolean(node[1], kind)
            right = self.boolean(node[2], kind)
            return f"({left} {kind.upper()} {right})", BOOL_EXPR
        if kind == "not":
            inner_sql, inner_type = self.compile(node[1])
            if inner_type not in (BOOL, BOOL_EXPR):
                raise bad_request("A unary operator with an incompatible type was detected. Found operand type "
                                  f"'{_LITERAL_EDM[inner_type]}' for operator kind 'Not'.")
            if inner_type == BOOL:
                inner_sql = f"({inner_sql} = 1)"
            return f"(NOT {inner_sql})", BOOL_EXPR
        if kind == "cmp":
            return self.comparison(node[1], node[2], node[3]), BOOL_EXPR
        if kind == "call":
            return self.call(node[1], node[2]), BOOL_EXPR
        raise bad_request(f"Syntax error in '{self.text}'.")

    def boolean(self, node: tuple, op: str) -> str:
        sql, typ = self.compile(node)
        if typ == BOOL:
            return f"({sql} = 1)"
        if typ != BOOL_EXPR:
            raise bad_request("A binary operator with incompatible types was detected. Found operand types "
                              f"'{_LITERAL_EDM[typ]}' and 'Edm.Boolean' for operator kind '{op.capitalize()}'.")
        return sql

    def comparison(self, op: str, left: tuple, right: tuple) -> str:
        # A quoted GUID compared with a Guid column is accepted, as the Dataverse docs show.
        left_sql, left_t = self.compile(left)
        right = self._coerce_guid_literal(right, left_t)
        right_sql, right_t = self.compile(right)
        if left_t == STRING and right_t == GUID and left[0] == "lit":
            left_t = GUID
        if left_t == NULL_T or right_t == NULL_T:
            other = right_sql if left_t == NULL_T else left_sql
            if op == "eq":
                return f"({other} IS NULL)"
            if op == "ne":
                return f"({other} IS NOT NULL)"
            return "(0)"
        if not _compatible(left_t, right_t):
            raise bad_request(
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{_LITERAL_EDM[left_t]}' and '{_LITERAL_EDM[right_t]}' for operator kind '{_OP_KIND[op]}'.")
        return f"({left_sql} {_OPS[op]} {right_sql})"

    def _coerce_guid_literal(self, node: tuple, other_type: str) -> tuple:
        if other_type == GUID and node[0] == "lit" and node[1] == STRING:
            try:
                return ("lit", GUID, str(uuid.UUID(node[2])))
            except ValueError:
                raise bad_request(f"Unrecognized 'Edm.Guid' literal '{node[2]}' in '{self.text}'.") from None
        return node

    def call(self, name: str, args: list[tuple]) -> str:
        lname = name.lower()
        if lname in _STRING_FUNCS:
            if len(args) != 2:
                raise bad_request(f"The function '{name}' requires two arguments.")
            target_sql, target_t = self.compile(args[0])
            if target_t != STRING:
                raise bad_request(f"No function signature for the function with name '{name}' matches the "
                                  f"specified arguments. The function signatures considered are: "
                                  f"{name}(Edm.String Nullable=true, Edm.String Nullable=true).")
            if args[1][0] != "lit" or args[1][1] != STRING:
                raise bad_request(f"The second argument of '{name}' must be a string literal.")
            prefix, suffix = _STRING_FUNCS[lname]
            self.params.append(f"{prefix}{args[1][2]}{suffix}")
            return f"({target_sql} LIKE ?)"
        if lname in _DATAVERSE_FUNCS:
            return self.in_function(name, args, negate=_DATAVERSE_FUNCS[lname])
        if lname.startswith("microsoft.dynamics.crm."):
            raise not_implemented(f"The query function '{name}'")
        raise bad_request(f"An unknown function with name '{name}' was found. This may also be a function import "
                          "or a key lookup on a navigation property, which is not allowed.")

    def in_function(self, name: str, args: list[tuple], negate: bool) -> str:
        named = {a[1].lower(): a[2] for a in args if a[0] == "named"}
        prop = named.get("propertyname")
        values = named.get("propertyvalues")
        if not prop or prop[0] != "lit" or prop[1] != STRING or not values or values[0] != "array":
            raise bad_request(f"{name} requires PropertyName='<name>' and PropertyValues=[\"...\"].")
        col = self.entity.column(prop[2])
        if col is None:
            raise self.unknown_property(prop[2])
        converted = [_convert_value(col.type, v, self.text) for v in values[1]]
        if not converted:
            return "(1)" if negate else "(0)"
        self.params.extend(converted)
        marks = ",".join("?" * len(converted))
        return f'("{col.name}" {"NOT IN" if negate else "IN"} ({marks}))'


def _compatible(a: str, b: str) -> bool:
    numeric = {INT, DECIMAL}
    if a in numeric and b in numeric:
        return True
    if {a, b} <= {BOOL, BOOL_EXPR}:
        return True
    return a == b


def _convert_value(col_type: str, value: Any, text: str) -> Any:
    try:
        if col_type == INT:
            return int(value)
        if col_type == DECIMAL:
            return float(value)
        if col_type == BOOL:
            return 1 if str(value).lower() in ("true", "1") else 0
        if col_type == GUID:
            return str(uuid.UUID(str(value)))
        if col_type == DATETIME:
            return _normalize_datetime(str(value), text)
    except ValueError:
        raise bad_request(f"The value '{value}' is not valid for a column of type {EDM_TYPES[col_type]}.") from None
    return str(value)


@dataclass(frozen=True)
class CompiledFilter:
    sql: str
    params: list[Any]


def parse_filter(text: str) -> tuple:
    """Parse ``$filter`` text into an AST (raises a 400 ``ODataError`` on bad syntax)."""
    return _Parser(text).parse()


def compile_filter(text: str, entity: EntityDef) -> CompiledFilter:
    """Parse and type-check ``$filter`` text for ``entity``; return a SQL ``WHERE`` fragment with parameters."""
    compiler = _Compiler(entity, text)
    sql, typ = compiler.compile(parse_filter(text))
    if typ == BOOL:
        sql = f"({sql} = 1)"
    elif typ != BOOL_EXPR:
        raise bad_request("The $filter expression must evaluate to a single boolean value.")
    return CompiledFilter(sql, compiler.params)
