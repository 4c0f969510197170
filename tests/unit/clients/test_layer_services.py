"""Every AWS service the layer asks a client for is in `LAYER_SERVICES`.

The layer's botocore session lists only `LAYER_SERVICES` (cold start, `contentgen.clients.aws`), so
a client of any other service fails when it is first built, in AWS, on a path the tests may not
take. These tests find every service the code names (statically, in the layer and the handlers)
and build every client the layer offers, so the omission fails here instead.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import UnknownServiceError

from contentgen.clients import aws
from contentgen.clients.aws import LAYER_SERVICES

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [
    *sorted((ROOT / "shared" / "contentgen").rglob("*.py")),
    *sorted((ROOT / "functions").rglob("*.py")),
]

# Calls whose first argument names an AWS service: botocore's session, boto3, our `_client`.
CLIENT_FACTORIES = {"create_client", "client", "resource", "_client"}
# Powertools utilities that build an AWS client of their own unless given one (`boto3_client=`).
POWERTOOLS_CLIENTS = {
    "SSMProvider": "ssm",
    "SecretsProvider": "secretsmanager",
    "AppConfigProvider": "appconfigdata",
    "DynamoDBProvider": "dynamodb",
    "DynamoDBPersistenceLayer": "dynamodb",
}


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def services_named_in_code() -> Iterator[tuple[str, str, Path, int]]:
    """(service, how, file, line) for every client the code asks for by name."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = _called_name(node)
            first = node.args[0] if node.args else None
            service_keyword = next((kw.value for kw in node.keywords if kw.arg == "service_name"), None)
            literal = first if first is not None else service_keyword
            if (
                name in CLIENT_FACTORIES
                and isinstance(literal, ast.Constant)
                and isinstance(literal.value, str)
            ):
                yield literal.value, name, path, node.lineno
            if name in POWERTOOLS_CLIENTS:
                yield POWERTOOLS_CLIENTS[name], name, path, node.lineno


def test_the_scan_finds_the_clients_the_layer_builds() -> None:
    """The scan itself works: it sees the services `contentgen.clients.aws` builds."""
    found = {service for service, _, _, _ in services_named_in_code()}
    assert {"dynamodb", "s3", "sqs", "events", "apigateway", "ssm"} <= found


def test_every_service_the_code_names_is_a_layer_service() -> None:
    missing = [
        f"{path.relative_to(ROOT)}:{line} {how}({service!r})"
        for service, how, path, line in services_named_in_code()
        if service not in LAYER_SERVICES
    ]
    assert not missing, f"not in contentgen.clients.aws.LAYER_SERVICES: {missing}"


def test_powertools_utilities_get_the_layers_client() -> None:
    """A Powertools utility given no `boto3_client` builds one from boto3, outside the layer's session."""
    unbound = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and _called_name(node) in POWERTOOLS_CLIENTS
                and not any(keyword.arg == "boto3_client" for keyword in node.keywords)
            ):
                unbound.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unbound


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Credentials and an endpoint that are never contacted: building a client sends nothing."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    aws.reset_aws_clients()
    yield
    aws.reset_aws_clients()


def test_every_client_the_layer_offers_builds_with_the_restricted_loader(fake_aws: None) -> None:
    getters = [
        getter
        for name, getter in inspect.getmembers(aws, inspect.isfunction)
        if name.startswith("get_") and name.endswith("_client") and getter.__module__ == aws.__name__
    ]
    assert len(getters) >= 5
    built = {getter().meta.service_model.service_name for getter in getters}
    built.add(aws.new_ssm_client(1.0).meta.service_model.service_name)
    assert built == set(LAYER_SERVICES)


def test_a_service_not_listed_cannot_be_built(fake_aws: None) -> None:
    """The guard is real: the loader refuses a service outside `LAYER_SERVICES`."""
    assert "sns" not in LAYER_SERVICES
    with pytest.raises(UnknownServiceError):
        aws._client("sns", aws._config())
