"""The gateway's OpenAPI document says what a generated client needs: every status a route can
answer with the one error model, who may call it, the constraints the handlers enforce as this
deployment configures them, an example of every request body, and where accepted work is.

Built as `forgeline openapi` builds it (no servers: the clients connect only in its lifespan)."""

from typing import Any

import jsonschema
import pytest

from services.common.settings import Settings
from services.gateway.openapi import openapi_document
from services.moderation.policy import configured_policy

pytestmark = pytest.mark.contract

SETTINGS = Settings().replace(imagegen={"min_side": 128, "max_side": 768, "max_steps": 30})


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(SETTINGS)


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_every_error_status_is_declared_with_the_one_error_model(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        errors = {code: r for code, r in op["responses"].items() if int(code) >= 400}
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in errors, f"{method} {path}: validation errors undeclared"
        for code, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, f"{method} {path} {code}"
    assert "HTTPValidationError" not in document["components"]["schemas"], "FastAPI's own 422 model leaked in"


def test_every_keyed_route_declares_401_and_429_with_retry_after(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        if op.get("security") == [{"HTTPBearer": []}]:
            assert {"401", "429"} <= set(op["responses"]), f"{method} {path}"
            assert "Retry-After" in op["responses"]["429"]["headers"]
        else:
            assert path == "/v1/webhooks/github" and op["security"] == [{"GitHubSignature": []}]


def test_the_review_queue_states_the_roles_it_needs(document: dict[str, Any]) -> None:
    reviewer_routes = [(m, p, op) for m, p, op in operations(document) if p.startswith("/v1/review")]
    assert len(reviewer_routes) == 3
    for method, path, op in reviewer_routes:
        assert op["x-required-role"] == ["reviewer", "admin"] and "403" in op["responses"], f"{method} {path}"
    assert "reviewer" in document["components"]["securitySchemes"]["HTTPBearer"]["description"]


def test_constraints_come_from_this_deployment(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    width = schemas["ImageRequest"]["properties"]["width"]
    assert (width["minimum"], width["maximum"], width["multipleOf"]) == (128, 768, 8)
    assert schemas["ImageRequest"]["properties"]["steps"]["maximum"] == 30
    countries = sorted(configured_policy(SETTINGS.moderation.policy_path).countries)
    assert schemas["ContentRequest"]["properties"]["country"]["enum"] == countries
    assert schemas["BatchRequest"]["properties"]["items"]["maxItems"] == SETTINGS.moderation.batch_max_items
    assert "Retry-After" in document["info"]["description"] and "Idempotency-Key" in document["info"]["description"]


def test_every_request_body_has_an_example_that_its_schema_accepts(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        if "requestBody" not in op:
            continue
        stated = op["requestBody"]["content"]["application/json"]["schema"]
        schema = document["components"]["schemas"][stated["$ref"].rsplit("/", 1)[1]] if "$ref" in stated else stated
        assert schema.get("examples"), f"{method} {path}: no example"
        for example in schema["examples"]:
            jsonschema.validate(example, {**stated, "components": document["components"]})


def test_accepted_work_says_where_to_follow_it(document: dict[str, Any]) -> None:
    followed = {
        ("POST", "/v1/echo"),
        ("POST", "/v1/images"),
        ("POST", "/v1/content"),
        ("POST", "/v1/content/{content_id}/appeal"),
    }
    for method, path, op in operations(document):
        if (method, path) in followed:
            assert "Location" in op["responses"]["202"]["headers"], f"{method} {path}"


def test_constraints_are_json_schema_keywords(document: dict[str, Any]) -> None:
    """A pydantic constraint it cannot translate (behind a validator, in a union) is written as
    its own name (`ge`, `lt`), which no client reads: the seed's bounds once were."""
    leaked = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            leaked.extend(
                f"{where}/{k}" for k in node if k in {"ge", "gt", "le", "lt", "min_length", "max_length", "multiple_of"}
            )
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(document["components"]["schemas"], "#/components/schemas")
    assert leaked == []
