"""The OpenAPI 3.1 document of /api/v1 (trace/api/openapi.py): valid, served in public, and describing exactly the
routes Flask serves under /api/v1, with their methods."""
import copy
import re
from trace.api.openapi import document

import pytest
from jsonschema import Draft202012Validator, ValidationError
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}  # Flask answers these for every route by itself


def routed(app) -> set:
    """(path as OpenAPI writes it, method) of every route under /api/v1: '<lot:code>' becomes '{code}'."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            found |= {(path, method) for method in rule.methods - AUTOMATIC_METHODS}
    return found


def documented(spec: dict) -> set:
    return {(path, method.upper()) for path, item in spec["paths"].items() for method in item
            if method in ("get", "put", "post", "delete", "patch")}


def test_the_document_lists_exactly_the_api_routes_and_their_methods(app):
    assert documented(document()) == routed(app)
    assert ("/lots/{gtin}/{code}/labels", "POST") in routed(app) and len(routed(app)) == 40


def test_a_route_added_without_being_documented_is_noticed(app):
    app.add_url_rule("/api/v1/lots/<gtin>/<lot:code>/photos", "undocumented", lambda gtin, code: "", methods=["PUT"])
    assert routed(app) - documented(document()) == {("/lots/{gtin}/{code}/photos", "PUT")}


def test_every_path_parameter_is_declared_with_the_name_flask_passes():
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{([^}]+)}", path)), (method, path)


def test_the_document_is_valid_openapi_3_1():
    spec = document()
    assert spec["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(spec).validate()
    broken = copy.deepcopy(spec)  # the validator does catch a mistake: a response without its description
    del broken["paths"]["/sites"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        OpenAPIV31SpecValidator(broken).validate()


def test_the_document_is_served_in_public_as_json(client):
    r = client.get("/api/v1/openapi.json")
    assert (r.status_code, r.mimetype) == (200, "application/json")
    assert r.get_json() == document()
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_errors_are_documented_as_the_problem_details_they_are(client):
    """The shapes the document gives errors are those the API sends: a 401, a 404 and a 422, validated against the
    document's own schemas (the fuzzing in test_api_fuzz.py does so for every answer)."""
    registry = Registry().with_resource("urn:api", DRAFT202012.create_resource(document()))

    def check(response, name):
        assert response.mimetype == "application/problem+json"
        Draft202012Validator({"$ref": f"urn:api#/components/schemas/{name}"}, registry=registry).validate(
            response.get_json())

    check(client.get("/api/v1/sites"), "Problem")
    check(client.get("/api/v1/nothing-here"), "Problem")
    check(client.post("/api/v1/verify", json=[1]), "InvalidInput")
    assert client.post("/api/v1/verify", json=[1]).get_json()["errors"] == {"body": "Send a JSON object."}
    with pytest.raises(ValidationError):  # and the schema does refuse what is not one
        Draft202012Validator({"$ref": "urn:api#/components/schemas/InvalidInput"}, registry=registry).validate(
            {"type": "about:blank", "title": "Invalid input", "status": 422, "errors": ["body"]})
