"""Our wording for pydantic's validation errors, in one place: every message echoes what the author wrote.

Pydantic says ``Input should be 'once', 'every_time' or 'every_n_days'`` for a bad choice, without the value,
and ``Input tag 'gossip' found using 'type' does not match ...`` for a bad filter type. :func:`translate`
turns one pydantic error into ``(location, message)``: a built-in error on a plain value says what was given
(a bad choice of any field, ``literal_error`` or ``enum``, also the nearest choice: ``... (got 'onse'; did
you mean 'once'?)``), and a filter's bad or missing ``type`` names the filter and the types there are.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_CHOICE_ERRORS = frozenset({"literal_error", "enum"})
_SCALARS = (str, int, float, bool)
_LONGEST_ECHO = 60


def nearest(raw: object, allowed: Iterable[str]) -> str | None:
    """The allowed name nearest to text ``raw``, if one is near."""
    close = difflib.get_close_matches(raw, list(allowed), n=1) if isinstance(raw, str) else []
    return close[0] if close else None


def did_you_mean(raw: object, allowed: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the allowed name nearest to ``raw``, or nothing when none is near."""
    near = nearest(raw, allowed)
    return f" (did you mean {near!r}?)" if near else ""


def not_one_of(raw: object, allowed: Sequence[str]) -> str:
    """``'startswith' is not one of is, is_not, ... (did you mean 'starts_with'?)``."""
    return f"{_echo(raw)} is not one of {', '.join(allowed)}{did_you_mean(raw, allowed)}"


def translate(item: Mapping[str, Any], root: type[BaseModel]) -> tuple[tuple[int | str, ...], str]:
    """The location and message for one of ``ValidationError.errors()`` of ``root`` (the spec model)."""
    loc, kind, given, ctx = tuple(item["loc"]), item["type"], item.get("input"), item.get("ctx") or {}
    if kind == "extra_forbidden":
        return loc, "unknown field (check the spelling)"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_problem(root, loc, kind, given, ctx)
    message = item["msg"]
    if not isinstance(given, _SCALARS) or repr(given) in message:
        return loc, message
    near = nearest(given, _QUOTED.findall(str(ctx.get("expected", "")))) if kind in _CHOICE_ERRORS else None
    return loc, f"{message} (got {_echo(given)}" + (f"; did you mean {near!r}?)" if near else ")")


def _tag_problem(root: type[BaseModel], loc: tuple[int | str, ...], kind: str, given: Any,
                 ctx: dict[str, Any]) -> tuple[tuple[int | str, ...], str]:
    """A member of a discriminated union (a filter) whose tag (its ``type``) is unknown or missing."""
    field = str(ctx.get("discriminator", "'type'")).strip("'")
    models = _models_at(root, loc)
    tags = [tag for model in models for tag in _literal_values(model, field)]
    what = f"filter {loc[-1] + 1}" if len(loc) > 1 and loc[-2] == "filters" and isinstance(loc[-1], int) else "it"
    if kind == "union_tag_not_found":
        return (*loc, field), f"{what} has no {field}: give one of {', '.join(tags)}"
    tag = given.get(field) if isinstance(given, dict) else ctx.get("tag")
    return (*loc, field), (f"{what} has {field} {_echo(tag)}, which does not match any of the expected tags: "
                           f"{', '.join(tags)}{did_you_mean(tag, tags)}")


def _echo(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _LONGEST_ECHO else text[: _LONGEST_ECHO - 4] + "...'"


# -- the models a location points into -----------------------------------------------------------------------

def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds, through Annotated, unions, Optional and tuples/lists."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, tuple, list):
        return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]
    return []


def _models_at(root: type[BaseModel], loc: Sequence[int | str]) -> list[type[BaseModel]]:
    """The model(s) an error location points into: fields are followed, positions skipped, and a union
    member's tag (``demographic``) keeps that member."""
    models = [root]
    for part in loc:
        if isinstance(part, int):
            continue
        fields = [field for model in models for name, field in model.model_fields.items()
                  if part in (name, field.alias)]
        if fields:
            models = [model for field in fields for model in _models_in(field.annotation)]
            continue
        tagged = [model for model in models if part in _literal_values(model, "type")]
        if tagged:
            models = tagged
    return models


def _literal_values(model: type[BaseModel], field: str) -> list[str]:
    info = model.model_fields.get(field)
    if info is None or typing.get_origin(info.annotation) is not typing.Literal:
        return []
    return [value for value in typing.get_args(info.annotation) if isinstance(value, str)]

