"""Schemathesis against /openapi.json: generated requests never get a 5xx and every answer matches the schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from integration.conftest import Tokens

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 25  # x 2 modes x 8 operations: seconds on each database


def token_for(path: str, method: str, tokens: Tokens) -> str:
    """The token each operation is meant for, so generated requests get past authentication."""
    if method == "POST" and path in ("/api/v1/events", "/api/v1/duis", "/api/v1/devices"):
        return tokens.admin_ingest
    return tokens.centre


def test_generated_requests_never_get_a_server_error_and_answers_match_the_schema(
    api: TestClient, tokens: Tokens
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 8
    strategies = []
    for operation in operations:
        headers = {"Authorization": f"Bearer {token_for(operation.path, operation.method.upper(), tokens)}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(mode, headers=headers))

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION * len(strategies),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call()
        case.validate_response(response, checks=CHECKS)

    check()


@pytest.mark.parametrize("path", ["/api/v1/distributions", "/api/v1/distributions.csv"])
def test_a_look_up_without_a_token_is_documented_as_it_answers(api: TestClient, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 401
    assert "401" in api.get("/openapi.json").json()["paths"][path]["get"]["responses"]
