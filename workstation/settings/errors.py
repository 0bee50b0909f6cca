"""Turn pydantic validation errors into one precise line each: file, key path, expected, found."""

from __future__ import annotations

import difflib
import json
from typing import Any

from pydantic import BaseModel, ValidationError

_EXPECTED_BY_TYPE = {
    "bool_parsing": "expected true/false",
    "bool_type": "expected true/false",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "string_type": "expected text",
    "dict_type": "expected a mapping of keys",
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "url_parsing": "expected a URL such as http://127.0.0.1:8999",
    "url_scheme": "expected an http:// or https:// URL",
    "missing": "a value is required",
}


def describe_value(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(err: dict[str, Any], model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        known = f"known keys here: {', '.join(sorted(allowed))}" if allowed else ""
        return "unknown key" + (f" (did you mean {hint[0]!r}?)" if hint else "") + (f"; {known}" if known else "")
    if kind in ("enum", "literal_error"):
        return f"expected one of {ctx.get('expected', '')}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in _EXPECTED_BY_TYPE:
        return _EXPECTED_BY_TYPE[kind]
    msg: str = err["msg"]
    if msg.startswith("Input should be "):
        return "expected a value " + msg.removeprefix("Input should be ")
    return msg[0].lower() + msg[1:] if msg else kind


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def format_validation_error(
    exc: ValidationError,
    model: type[BaseModel],
    origin_of: Any,
) -> list[str]:
    """One line per problem. `origin_of(loc)` names the file (or --set) that gave that key."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if p != "__root__")
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        expected = _expected(err, model, loc)
        line = f"{origin_of(loc)}: {dotted}: {expected}"
        if err["type"] not in ("extra_forbidden", "missing", "value_error"):
            line += f", got {describe_value(err.get('input'))}"
        lines.append(line)
    return lines
