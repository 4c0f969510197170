"""AWS on loopback: moto in server mode, provisioned from template.yaml.

The SSM key parameters, buckets, tables and queues the template declares are created here from
the template itself, so the local stack and the deployed one cannot drift apart.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.template import (
    REGION,
    bus_rules,
    load_template,
    physical_name,
    resolve,
    resources_of_type,
    ssm_key_parameters,
)

# Local stand-ins for the keys; the emulator accepts any non-empty key unless told otherwise.
LOCAL_KEYS = {
    "OpenRouterApiKeyParameterName": "local-openrouter-key",
    "GoogleApiKeyParameterName": "local-google-key",
    # Standard Webhooks: `whsec_` + base64 of at least 24 bytes (here 32, fixed: local only).
    "WebhookSecretParameterName": "whsec_bG9jYWwtY29udGVudGdlbi13ZWJob29rLXNlY3JldCE=",
}
# The API key the local stack's usage plan holds (what `x-api-key` must carry for deep health).
LOCAL_API_KEY = "local-contentgen-api-key"
# Real keys given in the environment are stored in (moto's) SSM, so the SSM path is exercised too.
REAL_KEY_VARIABLES = {
    "OpenRouterApiKeyParameterName": "OPENROUTER_API_KEY",
    "GoogleApiKeyParameterName": "GOOGLE_API_KEY",
}

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_dynamodb_write_lock = threading.RLock()


def serialise_dynamodb_updates() -> None:
    """Work around a moto bug: its DynamoDB UpdateItem reads, changes and writes an item without a
    lock, so concurrent updates of one item lose some of them (DynamoDB applies each atomically;
    `ADD` counters must add up). One lock around moto's update_item restores that; idempotent.
    Tested by tests/integration/test_spend.py::test_spend_adds_up_exactly_across_concurrent_requests_of_one_key.
    """
    from moto.dynamodb.models import DynamoDBBackend

    update = DynamoDBBackend.update_item
    if getattr(update, "serialised", False):
        return

    @functools.wraps(update)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _dynamodb_write_lock:
            return update(self, *args, **kwargs)

    locked.serialised = True  # type: ignore[attr-defined]
    DynamoDBBackend.update_item = locked  # type: ignore[method-assign]


def canonical_dynamodb_numbers() -> None:
    """Work around a moto bug: the sum or difference in an update expression (`SET a = a + :d`)
    is stored as Python prints the Decimal, so one that comes to zero with decimals is stored as
    `0E-7`, which moto's next arithmetic on it cannot read (a 500). DynamoDB stores numbers
    canonically, leading and trailing zeroes trimmed ("Supported data types and naming rules in
    Amazon DynamoDB", Number); moto's `+` and `-` are made to do so; idempotent."""
    from decimal import Decimal

    from moto.dynamodb.models.dynamo_type import DynamoType

    if getattr(DynamoType.__add__, "canonical", False):
        return

    def canonical(operation: Any) -> Any:
        @functools.wraps(operation)
        def wrapped(self: Any, other: Any) -> Any:
            result = operation(self, other)
            if result.is_number():
                result.value = format(Decimal(result.value).normalize(), "f")
            return result

        wrapped.canonical = True  # type: ignore[attr-defined]
        return wrapped

    DynamoType.__add__ = canonical(DynamoType.__add__)  # type: ignore[method-assign]
    DynamoType.__sub__ = canonical(DynamoType.__sub__)  # type: ignore[method-assign]


class MotoServer:
    """moto's threaded server on a free loopback port (DynamoDB updates atomic, as in AWS)."""

    def __init__(self, port: int = 0) -> None:
        """`port` 0: the system picks a free one when the server binds (known after `start`), so
        no other process can take it between a probe and the bind."""
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per AWS call
        self.port = port
        self.usage_plan_id = ""  # set by whoever provisions it
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.latency_ms = 0.0  # every request answered this much later (`make bench`: AWS's latency)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        serialise_dynamodb_updates()
        canonical_dynamodb_numbers()
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        # werkzeug's server calls `self.server.app` per request: wrapped, each answer leaves
        # `latency_ms` after the request arrived. moto's own work (parsing, the backend, the answer's
        # JSON: 6 to 12 ms for the spend ledger's Query and UpdateItem here) counts within it, as a
        # service's processing counts within its published latency; moto slower than `latency_ms`
        # answers when it is done.
        wsgi_server: Any = self._server._server
        served = wsgi_server.app

        def delayed(environ: Any, start_response: Any) -> Any:
            arrived = time.perf_counter()
            answer = served(environ, start_response)
            left = self.latency_ms / 1000 - (time.perf_counter() - arrived)
            if left > 0:
                time.sleep(left)
            return answer

        wsgi_server.app = delayed
        return self

    def stop(self) -> None:
        self._server.stop()


def client(service: str, endpoint_url: str) -> Any:
    """A boto3 client for the local moto server (never real AWS: endpoint and keys are fixed)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def provision(endpoint_url: str, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Create what template.yaml declares; return the SSM parameter names written and, under
    `ApiUsagePlanId`, the id of the usage plan holding `LOCAL_API_KEY`."""
    ssm = client("ssm", endpoint_url)
    written = {}
    for template_name, parameter_name in ssm_key_parameters().items():
        value = environ.get(REAL_KEY_VARIABLES.get(template_name, ""), "") or LOCAL_KEYS.get(
            template_name, "local-key"
        )
        ssm.put_parameter(Name=parameter_name, Value=value, Type="SecureString", Overwrite=True)
        written[template_name] = parameter_name

    s3 = client("s3", endpoint_url)
    for logical_id in resources_of_type("AWS::S3::Bucket"):
        s3.create_bucket(Bucket=physical_name(logical_id))

    dynamodb = client("dynamodb", endpoint_url)
    for logical_id, resource in resources_of_type("AWS::DynamoDB::Table").items():
        _create_table(dynamodb, logical_id, resource)

    events = client("events", endpoint_url)
    for logical_id in resources_of_type("AWS::Events::EventBus"):
        events.create_event_bus(Name=physical_name(logical_id))

    sqs = client("sqs", endpoint_url)
    written["ApiUsagePlanId"] = _create_usage_plan(client("apigateway", endpoint_url))

    queues = resources_of_type("AWS::SQS::Queue")
    for logical_id in queues:  # all first: a redrive policy names its dead-letter queue
        sqs.create_queue(QueueName=physical_name(logical_id))
    for logical_id, resource in queues.items():
        attributes = queue_attributes(resource.get("Properties", {}))
        if attributes:
            url = sqs.get_queue_url(QueueName=physical_name(logical_id))["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)

    for rule in bus_rules():  # into the function's request queue, as in AWS
        url = sqs.get_queue_url(QueueName=physical_name(rule.queue))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = physical_name(rule.bus)
        events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.pattern))
        events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return written


def _create_usage_plan(apigateway: Any) -> str:
    """SAM's PER_API usage plan and key (generated, so not in the template's resources)."""
    key = apigateway.create_api_key(name="contentgen-local", value=LOCAL_API_KEY, enabled=True)
    plan = apigateway.create_usage_plan(name="contentgen-local")
    apigateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return str(plan["id"])


def create_table_as_declared(dynamodb: Any, logical_id: str, name: str | None = None) -> None:
    """Create the template's table `logical_id` (its keys, indexes and TTL), named `name` or its
    local physical name: tests make their tables this way, so they cannot drift from the template."""
    _create_table(dynamodb, logical_id, load_template()["Resources"][logical_id], name)


def _create_table(dynamodb: Any, logical_id: str, resource: dict[str, Any], name: str | None = None) -> None:
    properties = resource["Properties"]
    arguments: dict[str, Any] = {
        "TableName": name or physical_name(logical_id),
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if properties.get("GlobalSecondaryIndexes"):
        arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    dynamodb.create_table(**arguments)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=arguments["TableName"], TimeToLiveSpecification=ttl)


def queue_attributes(properties: dict[str, Any]) -> dict[str, str]:
    """A template queue's properties as `SetQueueAttributes` takes them (the redrive policy as JSON)."""
    attributes: dict[str, str] = {
        key: str(resolve(properties[key]))
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
        )
        if key in properties
    }
    if "RedrivePolicy" in properties:
        attributes["RedrivePolicy"] = json.dumps(resolve(properties["RedrivePolicy"]))
    return attributes
