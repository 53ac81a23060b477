"""JSON Schema for the OpenAPI document, from the models.

pydantic's output is brought to the document's form: no generated titles or defaults, an
optional value as `"type": [T, "null"]`, enums and helper models written in place, and only
the named components kept as `#/components/schemas/...` references.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

PREFIX = "#/components/schemas/"
NULL = {"type": "null"}


class Components:
    """The named component schemas, and the schemas of bodies written in place."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = dict(named)
        self.defs: dict[str, Any] = {}

    def schema_of(self, model: Any) -> dict[str, Any]:
        """The schema of a model (or any type), components referred to by name."""
        raw = TypeAdapter(model).json_schema(ref_template=PREFIX + "{model}")
        self.defs.update(raw.pop("$defs", {}))
        tidy: dict[str, Any] = self._tidy(raw)
        return tidy

    def schemas(self) -> dict[str, Any]:
        """Every named component's schema."""
        return {name: self.schema_of(model) for name, model in self.named.items()}

    def _tidy(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._tidy(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {k: v for k, v in node.items() if k not in ("title", "default")}
        ref = node.get("$ref", "")
        name = ref.removeprefix(PREFIX)
        if ref and name not in self.named:
            # A helper model or an enum: written in place (an enum's docstring is for the code).
            inline = dict(self.defs[name])
            if "enum" in inline:
                inline.pop("description", None)
            node = {**inline, **{k: v for k, v in node.items() if k != "$ref"}}
            return self._tidy(node)
        out = {
            key: {n: self._tidy(s) for n, s in value.items()}
            if key == "properties"
            else self._tidy(value)
            for key, value in node.items()
        }
        if out.get("additionalProperties") is True:
            del out["additionalProperties"]
        if isinstance(out.get("propertyNames"), dict):
            out["propertyNames"].pop("type", None)  # a property name is a string anyway
        return _nullable(out)


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [T, null]` of a plain type T as `type: [T, "null"]` (and None among its enum)."""
    any_of = node.get("anyOf")
    if not (isinstance(any_of, list) and len(any_of) == 2 and NULL in any_of):
        return node
    other = any_of[0] if any_of[1] == NULL else any_of[1]
    if not isinstance(other.get("type"), str):
        return node
    merged = {**other, **{k: v for k, v in node.items() if k != "anyOf"}}
    merged["type"] = [other["type"], "null"]
    if "enum" in other:
        merged["enum"] = [*other["enum"], None]
    return merged
