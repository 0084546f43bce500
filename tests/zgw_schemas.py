"""The ZGW OpenAPI documents (Catalogi, Zaken) as JSON Schema for what a client sends, shared
by the export and sync tests: ``nullable`` as a null type, readOnly attributes not required
(a client never sends them; the server fills them in), refs into ``$defs``."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema

from zorgflow._yaml import read_yaml

DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


def read_document(path: Path) -> dict[str, Any]:
    """An OpenAPI document of the standards folder, read as zorgflow reads YAML."""
    doc, problems = read_yaml(path.read_text(encoding="utf-8"), str(path))
    assert not problems, problems
    data: dict[str, Any] = doc.data
    return data


def component_schemas(path: Path) -> dict[str, Any]:
    """The ``components.schemas`` of an OpenAPI document."""
    schemas: dict[str, Any] = read_document(path)["components"]["schemas"]
    return schemas


def as_request_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema for what a client sends: ``nullable`` as a
    null type, readOnly attributes (and the one required name the document never declares,
    ZaakType.resultaattypeOmschrijving) no longer required, refs into ``$defs``."""
    if isinstance(node, list):
        return [as_request_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: as_request_schema(value) for key, value in node.items()
           if key not in ("nullable", "readOnly", "example")}
    if isinstance(out.get("$ref"), str):
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    properties = node.get("properties")
    if isinstance(properties, dict) and "required" in node:
        out["required"] = [name for name in node["required"] if name in properties
                           and not properties[name].get("readOnly")]
    if node.get("nullable"):
        if "type" in out and "enum" not in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def validator_for(schemas: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """A validator of the schema ``name`` among ``schemas`` (as `component_schemas` gives
    them), checking the formats uri, duration, date and date-time."""
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri")(lambda v: not isinstance(v, str) or bool(re.match(r"^https?://\S+$",
                                                                            v)))
    checker.checks("duration")(lambda v: not isinstance(v, str) or bool(DURATION.match(v)))

    @checker.checks("date", raises=ValueError)
    def is_date(value: object) -> bool:
        return not isinstance(value, str) or bool(date.fromisoformat(value))

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return "T" in value and datetime.fromisoformat(value).tzinfo is not None

    schema = {"$defs": as_request_schema(schemas), "$ref": f"#/$defs/{name}"}
    return jsonschema.Draft202012Validator(schema, format_checker=checker)
