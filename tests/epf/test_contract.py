"""The extension and the API cannot drift apart: every call the BSL makes (method and path), every
JSON field it sends and every field it reads, nested objects and array items included, are in the
service's OpenAPI document as the app generates it. The service ignores unknown JSON fields, so
this is the only guard against a misspelt field in BSL: any snake_case name the BSL reads or writes
must be attributed to a call (tests/epf/bsl.py says how)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.epf.bsl import EPF, ERROR_READER, Call, Fields, bsl_files, calls, json_names, routines


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from config import load_settings
    from connector.app import create_app

    app: Flask = create_app(load_settings({"VAR_DIR": str(tmp_path_factory.mktemp("openapi"))}))
    document: dict[str, Any] = app.test_client().get("/api/openapi.json").get_json()
    return document


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or "allOf" in schema or "anyOf" in schema:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif "allOf" in schema:
            schema = schema["allOf"][0]
        else:  # a nullable nested object: {"anyOf": [{"nullable": true}, {"$ref": …}]}
            schema = next(s for s in schema["anyOf"] if "$ref" in s or "properties" in s)
    return schema


def _properties(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """An object's properties, or those of an array's items."""
    schema = _schema(spec, schema)
    if schema.get("type") == "array":
        schema = _schema(spec, schema["items"])
    return dict(schema.get("properties", {}))


def _check(spec: dict[str, Any], schema: dict[str, Any], fields: Fields, where: str) -> None:
    properties = _properties(spec, schema)
    unknown = (fields.own | set(fields.nested)) - set(properties)
    assert not unknown, f"{where}: not in the API: {sorted(unknown)}"
    for name, inner in fields.nested.items():
        _check(spec, properties[name], inner, f"{where}.{name}")


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _operation(spec: dict[str, Any], call: Call) -> dict[str, Any]:
    path = call.path.partition("?")[0]
    for template, operations in spec["paths"].items():
        if _shape(template) == _shape(path) and call.method.lower() in operations:
            operation: dict[str, Any] = operations[call.method.lower()]
            return operation
    raise AssertionError(f"{call.routine}: {call.method} {call.path} is not in the API")


def _query(call: Call) -> set[str]:
    """The query parameters a path sends: ``…?phone={Телефон}&offset={Смещение}``."""
    query = call.path.partition("?")[2]
    return {part.partition("=")[0] for part in query.split("&") if part}


def _all_calls() -> list[Call]:
    found = []
    for path in bsl_files():
        module = routines(path)
        found += [call for routine in module for call in calls(routine, module)]
    return found


def test_the_bsl_calls_the_service() -> None:
    assert _all_calls()


@pytest.mark.parametrize("call", _all_calls(), ids=lambda c: f"{c.routine}:{c.method} {c.path}")
def test_every_call_and_field_is_in_the_api(spec: dict[str, Any], call: Call) -> None:
    operation = _operation(spec, call)
    if call.request.names():
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        _check(spec, body, call.request, f"{call.routine} request")
    parameters = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    assert _query(call) <= parameters, f"{call.routine}: query {_query(call) - parameters}"
    success = min(code for code in operation["responses"] if code.startswith("2"))
    answer = operation["responses"][success]["content"]["application/json"]["schema"]
    _check(spec, answer, call.response, f"{call.routine} answer")


def test_error_bodies_are_read_by_the_api_error_fields(spec: dict[str, Any]) -> None:
    error = set(_properties(spec, {"$ref": "#/components/schemas/Error"}))
    readers = [r for path in bsl_files() for r in routines(path) if r.name == ERROR_READER]
    assert readers
    for routine in readers:
        assert json_names(routine) <= error


def test_no_json_field_goes_unchecked() -> None:
    """A snake_case name the BSL reads or writes outside a call the contract knows is refused."""
    for path in bsl_files():
        module = routines(path)
        module_calls = [call for caller in module for call in calls(caller, module)]
        for routine in module:
            if routine.name == ERROR_READER:
                continue
            attributed: set[str] = set()
            for call in module_calls:
                if call.routine == routine.name:
                    attributed |= call.request.names() | call.response.names()
                if call.builder == routine.name:
                    attributed |= call.request.names()
                if routine.name in call.readers:
                    attributed |= call.response.names()
            unchecked = json_names(routine) - attributed
            assert not unchecked, (str(path.relative_to(EPF)), routine.name, unchecked)
