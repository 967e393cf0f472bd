"""The OpenAPI 3.1 document: valid, complete, and generated from the definitions."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from flask import Flask
from openapi_spec_validator import OpenAPIV31SpecValidator

from api_support import PACKS, build_app
from ui_renderer.api.openapi import openapi_document

ENTITY_PATHS = ("/{e}", "/{e}/{{id}}", "/{e}/{{id}}/restore", "/{e}/{{id}}/history", "/{e}/mass-update")


@pytest.fixture(scope="module")
def document(shared_app: Flask) -> dict[str, Any]:
    return shared_app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.fixture
def acme_document(database_url: str) -> Iterator[dict[str, Any]]:
    app = build_app(database_url, PACKS / "acme", seed=False)
    yield app.test_client().get("/api/v1/openapi.json").get_json()
    app.extensions["ossature"].dispose()


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]


def parameter(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    found = [p for p in document["paths"][path][method].get("parameters", []) if p["name"] == name]
    assert found, f"{method} {path} has no parameter {name}"
    return found[0]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    assert errors == []
    assert document["servers"] == [{"url": "/api/v1"}]


def test_every_entity_has_its_paths_and_schemas(shared_app: Flask, document: dict[str, Any]) -> None:
    model = shared_app.extensions["ossature"].model
    for entity in model.entities.values():
        for path in ENTITY_PATHS:
            assert path.format(e=entity.name) in document["paths"]
        name = "".join(part.capitalize() for part in entity.name.split("_"))
        for suffix in ("", "Input", "Update", "Values", "Page", "MassUpdate"):
            assert f"{name}{suffix}" in document["components"]["schemas"]
        assert set(schema(document, name)["properties"]) >= {f.name for f in entity.fields} | {"id", "version"}
        assert (f"/{entity.name}/{{id}}/transitions/{{name}}" in document["paths"]) == bool(entity.workflow)
    assert "/lists/{name}" in document["paths"] and "/openapi.json" in document["paths"]


def test_types_bounds_lengths_patterns_and_formats_come_from_the_characteristics(document: dict[str, Any]) -> None:
    lead = schema(document, "LeadInput")
    props = lead["properties"]
    assert props["score"]["type"] == ["integer", "null"] and (props["score"]["minimum"], props["score"]["maximum"]) == (0, 5)
    assert props["last_name"]["type"] == "string"
    assert (props["last_name"]["minLength"], props["last_name"]["maxLength"]) == (1, 80)
    assert props["email"]["format"] == "email" and props["website"]["pattern"].startswith("^[Hh][Tt][Tt][Pp][Ss]?://")
    assert props["sector"]["enum"][-1] is None and "banking" in props["sector"]["enum"]
    assert props["tags"]["items"]["enum"] and props["tags"]["uniqueItems"] is True
    assert props["assigned_to"]["type"] == ["integer", "null"] and props["assigned_to"]["minimum"] == 1
    assert props["do_not_call"]["type"] == ["boolean", "null"]
    assert props["status"]["enum"] == ["new", None]
    assert "converted_on" not in props, "read-only characteristics are not input"
    assert {"type": "null"} in props["budget"]["anyOf"]
    assert lead["required"] == ["last_name"] and lead["additionalProperties"] is False
    user = schema(document, "UserInput")["properties"]
    assert user["username"]["pattern"] == "^(?:[a-z0-9._-]+)$"
    assert schema(document, "OpportunityInput")["properties"]["expected_close"]["format"] == "date"
    assert schema(document, "EventInput")["properties"]["starts_at"]["format"] == "date-time"


def test_retired_values_are_read_but_not_offered(document: dict[str, Any]) -> None:
    assert "fax_campaign" in schema(document, "Lead")["properties"]["source"]["enum"]
    assert "fax_campaign" not in schema(document, "LeadInput")["properties"]["source"]["enum"]


def test_output_schemas_list_status_codes_and_read_formats(document: dict[str, Any]) -> None:
    lead = schema(document, "Lead")
    assert lead["properties"]["status"]["enum"] == ["new", "qualification_call", "commercial_qualification",
                                                    "converted", "lost", None]
    assert lead["properties"]["budget"]["type"] == ["string", "null"]
    assert lead["properties"]["created_at"]["format"] == "date-time"
    assert lead["additionalProperties"] is False
    assert set(lead["required"]) == {"id", "version", "created_at", "updated_at"}


def test_mandatory_values_cannot_be_cleared_by_an_update(document: dict[str, Any]) -> None:
    update = schema(document, "LeadUpdate")
    assert update["properties"]["last_name"]["type"] == "string"
    assert update["properties"]["first_name"]["type"] == ["string", "null"]
    assert update["properties"]["version"]["type"] == "integer"
    assert "required" not in update


def test_list_parameters_include_every_filter(document: dict[str, Any]) -> None:
    assert parameter(document, "/lead", "get", "f_status")["schema"]["items"]["enum"][0] == "new"
    assert parameter(document, "/lead", "get", "f_score_min")["schema"]["type"] == "integer"
    assert parameter(document, "/lead", "get", "f_budget_max")["schema"]["pattern"]
    assert parameter(document, "/lead", "get", "f_company")["schema"] == {"type": "string", "pattern": "^[^\\u0000]*$"}
    assert parameter(document, "/lead", "get", "f_assigned_to")["schema"]["items"]["type"] == "integer"
    assert parameter(document, "/lead", "get", "group")["schema"]["enum"][:1] == ["function"]
    assert parameter(document, "/lead", "get", "view")["schema"]["enum"] == ["list", "my_open_leads"]
    assert parameter(document, "/lead", "get", "size")["schema"]["maximum"] == 200
    assert parameter(document, "/event", "get", "f_starts_at_min")["schema"]["format"] == "date-time"
    assert parameter(document, "/lead/{id}/history/{field}", "get", "as_of")
    transition = document["paths"]["/lead/{id}/transitions/{name}"]["parameters"]
    assert {"start_call", "qualify", "convert"} <= set(transition[1]["schema"]["enum"])


def test_every_operation_documents_its_errors_and_bearer_security(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "A token from `ossature token create`."}
    assert document["security"] == [{"bearerAuth": []}]
    error = schema(document, "Error")
    assert set(error["required"]) == {"error", "message"}
    assert error["properties"]["errors"]["additionalProperties"]["items"] == {"$ref": "#/components/schemas/RuleError"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters" or path == "/openapi.json":
                continue
            assert "401" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["$ref"].startswith("#/components/responses/"), (method, path, status)
    patch = document["paths"]["/lead/{id}"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "422"} <= set(patch)
    conflict = document["components"]["responses"]["Conflict"]["content"]["application/json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/Error"}


def test_a_pack_adding_a_characteristic_adds_it_to_the_document(document: dict[str, Any],
                                                                   acme_document: dict[str, Any]) -> None:
    assert "loyalty" not in schema(document, "Lead")["properties"]
    loyalty = schema(acme_document, "LeadInput")["properties"]["loyalty"]
    assert (loyalty["type"], loyalty["minimum"], loyalty["maximum"]) == (["integer", "null"], 0, 10)
    assert "loyalty" in schema(acme_document, "Lead")["properties"]
    assert parameter(acme_document, "/lead", "get", "f_loyalty_max")["schema"]["type"] == "integer"
    assert list(OpenAPIV31SpecValidator(acme_document).iter_errors()) == []


def test_the_document_is_cached_per_model(shared_app: Flask) -> None:
    client = shared_app.test_client()
    first = client.get("/api/v1/openapi.json").get_json()
    model = shared_app.extensions["ossature"].model
    assert openapi_document(model, "/x")["paths"] is openapi_document(model, "/y")["paths"]
    assert openapi_document(model, "/x")["servers"] == [{"url": "/x"}]
    assert client.get("/api/v1/openapi.json").get_json() == first
