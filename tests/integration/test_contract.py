"""Contract test: schemathesis generates requests from the committed OpenAPI document and sends
them over HTTP to the local API (real handlers, the provider emulator, moto). No answer may be a
5xx, and every answer must have a documented status, content type, headers and body schema.

Bounded: a fixed seed (derandomized), `MAX_EXAMPLES` cases per operation, positive and negative
data. https://schemathesis.readthedocs.io/
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.aws import LOCAL_API_KEY
from local.openapi import DOCUMENT_PATHS
from tests.integration.conftest import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # a generated case per operation

MAX_EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 13,
        "auth": {"openapi": {"ApiKey": {"api_key": LOCAL_API_KEY}}},
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        # Methods no route declares are answered by API Gateway itself, never by a function.
        "phases": {"coverage": {"unexpected-methods": []}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(
    json.loads(DOCUMENT_PATHS[0].read_text(encoding="utf-8")), config=CONFIG
)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_local_api_keeps_its_documented_contract(
    case: schemathesis.Case[Any], local_api: str, stack: Stack
) -> None:
    case.call_and_validate(base_url=local_api, checks=CHECKS, timeout=60)
