"""A small JSON Schema checker for the subset the OpenAPI document uses.

Supported: ``$ref`` (to ``#/...``), ``type`` (a name or a list), ``enum``, ``const``,
``properties``, ``required``, ``additionalProperties`` (false or a schema), ``items``,
``anyOf``, ``oneOf``, ``minimum``, ``maximum``, ``minLength``, ``maxLength``, ``minItems``,
``pattern``, ``format: date-time`` (ISO 8601 with a zone). Any other keyword is an
error, so the document cannot use one that this checker would silently skip.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

ANNOTATIONS = {"description", "default", "title", "example", "examples", "style", "explode"}
KNOWN = ANNOTATIONS | {
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "oneOf",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "format",
}
TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name not in TYPES:
        raise AssertionError(f"unknown type {name!r} in schema")
    return isinstance(value, TYPES[name])


def _resolve(root: dict[str, Any], pointer: str) -> dict[str, Any]:
    assert pointer.startswith("#/"), pointer
    node: Any = root
    for part in pointer[2:].split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def errors(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` fails ``schema``, as ``path: problem`` lines (empty if valid)."""
    unknown = set(schema) - KNOWN
    if unknown:
        return [f"{path}: schema uses unsupported keywords {sorted(unknown)}"]
    if "$ref" in schema:
        return errors(value, _resolve(root, schema["$ref"]), root, path)
    found: list[str] = []
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema["oneOf"]
        passing = [opt for opt in options if not errors(value, opt, root, path)]
        if not passing:
            details = [errors(value, opt, root, path) for opt in options]
            found.append(f"{path}: matches none of {len(options)} alternatives: {details}")
        elif "oneOf" in schema and len(passing) > 1:
            found.append(f"{path}: matches {len(passing)} alternatives of a oneOf")
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, name) for name in names):
            return [*found, f"{path}: {value!r} is not of type {names}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: {value!r} is not {schema['const']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: {value} > maximum {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{path}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date-time":
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                found.append(f"{path}: {value!r} is not an ISO 8601 date-time")
            else:
                if parsed.tzinfo is None:
                    found.append(f"{path}: {value!r} has no time zone")
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{path}: missing required property {name!r}")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                found.extend(errors(item, props[name], root, f"{path}.{name}"))
            elif extra is False:
                found.append(f"{path}: undocumented property {name!r}")
            elif isinstance(extra, dict):
                found.extend(errors(item, extra, root, f"{path}.{name}"))
    if isinstance(value, list) and len(value) < schema.get("minItems", 0):
        found.append(f"{path}: fewer than {schema['minItems']} items")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found.extend(errors(item, schema["items"], root, f"{path}[{i}]"))
    return found
