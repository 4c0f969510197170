"""botocore clients for the AWS services the layer uses, lazily built once per container.

They honour `AWS_ENDPOINT_URL` (moto locally) through botocore itself, with short timeouts and the
standard retry mode: AWS calls are retried by botocore, provider calls by `contentgen.core.retry`.

Cold start (`make bench`, docs/benchmark.md): the clients come from one botocore session, not from
`boto3.client`: importing boto3 also imports s3transfer and, through it, multiprocessing and
concurrent.futures, none of which a low-level client uses. The session's data loader lists only the
services below: botocore's own loader lists every directory of its data path (about 440 services,
two `listdir` each) to check that the one asked for exists; and it reads botocore's JSON into plain
dicts, not one `OrderedDict` per object. All are measured in the first request.
The loader holds only service models (no credentials) and is kept across `reset_aws_clients()`;
`prime_service_models()` fills it before a SnapStart snapshot.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from contentgen.clients.dynamodb import reset_ledger_client
from contentgen.clients.lazy import LazySingleton

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

# Every AWS service the layer calls (the functions' IAM roles allow no other). The session's loader
# lists only these, so a client of any other service fails to build (`UnknownServiceError`), and
# `tests/unit/clients/test_layer_services.py` fails when the code asks for one: add it here first.
# ssm: the API keys' parameters when the Parameters and Secrets extension is off
# (`contentgen.clients.secrets`, Powertools' SSMProvider given `new_ssm_client`).
LAYER_SERVICES = ("dynamodb", "s3", "sqs", "events", "apigateway", "ssm", "lambda")

_loader_lock = threading.Lock()
_loader: Any = None
_session_lock = threading.Lock()


def _data_loader() -> Any:
    """botocore's data loader (it honours `AWS_DATA_PATH`), listing only `LAYER_SERVICES`."""
    global _loader
    with _loader_lock:
        if _loader is None:
            # Cold start: botocore loads on the path that uses it, not at import.
            from botocore.loaders import JSONFileLoader, create_loader

            class PlainJSONFileLoader(JSONFileLoader):
                """botocore's JSON files parsed into plain dicts (ordered since Python 3.7): its
                own loader builds an `OrderedDict` per JSON object, which made DynamoDB's service
                model cost 44 to 52 ms of CPU to read, plain dicts 23 to 35 (Python 3.13)."""

                def _load_file(self, full_path: str, open_method: Any) -> Any:
                    if not os.path.isfile(full_path):
                        return None
                    with open_method(full_path, "rb") as file:
                        return json.loads(file.read().decode("utf-8"))

            loader: Any = create_loader(os.environ.get("AWS_DATA_PATH"))
            loader.file_loader = PlainJSONFileLoader()

            def layer_services(type_name: str = "service-2") -> list[str]:
                return [
                    service
                    for service in LAYER_SERVICES
                    if any(os.path.isdir(os.path.join(path, service)) for path in loader.search_paths)
                ]

            loader.list_available_services = layer_services
            _loader = loader
        return _loader


def _build_session() -> Any:
    # Cold start: botocore loads on the path that uses it, not at import.
    import botocore.session

    session = botocore.session.Session()
    session.register_component("data_loader", _data_loader())
    return session


_session: LazySingleton[Any] = LazySingleton(_build_session)


def _client(service: str, config: Any) -> Any:
    """A client of the container's session (botocore sessions are not thread-safe: one build at a time)."""
    with _session_lock:
        return _session.get().create_client(service, config=config)


def prime_service_models(services: Iterable[str] = ("dynamodb",)) -> None:
    """Read what building a client of each service needs (models, endpoint rules, partitions,
    retry and default settings) into the loader, through a throwaway client signed with
    placeholder credentials: nothing is sent and no credential of the function is resolved or
    kept. For SnapStart's before-snapshot hook (`contentgen.entrypoints.coldstart`)."""
    # Cold start: botocore loads on the path that uses it, not at import.
    import botocore.session

    session = botocore.session.Session()
    session.register_component("data_loader", _data_loader())
    for service in services:
        session.create_client(
            service,
            config=_config(),
            aws_access_key_id="snapshot-placeholder",
            aws_secret_access_key="snapshot-placeholder",  # noqa: S106 - a placeholder, never sent
        )


def _config() -> Any:
    """Short timeouts, the standard retry mode, and no client-side parameter validation: the
    layer builds every request's parameters itself, the service validates them again (a malformed
    one is still refused, as the service's `ValidationException`), and botocore's walk of every
    parameter against the model was most of the code's own CPU time per warm request (two
    DynamoDB requests per generation; `make bench`, docs/benchmark.md)."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.config import Config

    return Config(
        connect_timeout=3,
        read_timeout=10,
        retries={"mode": "standard", "max_attempts": 3},
        parameter_validation=False,
    )


def new_ssm_client(timeout_seconds: float) -> SSMClient:
    """A new SSM client of the container's session: `timeout_seconds` to connect and to read, two
    attempts. Its owner (`contentgen.clients.secrets`' provider) keeps it once per container."""
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"mode": "standard", "max_attempts": 2},
    )
    return cast("SSMClient", _client("ssm", config))


def _s3_config() -> Any:
    """SigV4 presigned URLs from the regional endpoint.

    botocore presigns S3 URLs with SigV2 (`AWSAccessKeyId=&Signature=`) from the global endpoint in
    us-east-1 unless told otherwise; buckets created since June 2020 and every newer region refuse
    SigV2 (AWS S3 User Guide, "Authenticating Requests (AWS Signature Version 4)"; botocore
    `Config(signature_version="s3v4", s3={"us_east_1_regional_endpoint": "regional"})`).
    """
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.config import Config

    signing = Config(signature_version="s3v4", s3={"us_east_1_regional_endpoint": "regional"})
    return _config().merge(signing)


def _build_s3() -> S3Client:
    return cast("S3Client", _client("s3", _s3_config()))


def _build_dynamodb() -> DynamoDBClient:
    return cast("DynamoDBClient", _client("dynamodb", _config()))


def _build_sqs() -> SQSClient:
    return cast("SQSClient", _client("sqs", _config()))


def _build_events() -> EventBridgeClient:
    return cast("EventBridgeClient", _client("events", _config()))


def _build_apigateway() -> APIGatewayClient:
    return cast("APIGatewayClient", _client("apigateway", _config()))


def _build_lambda() -> Any:
    # Typed Any: boto3-stubs' lambda package is not among the dev pins, and only `invoke` is
    # used (durable starts).
    return _client("lambda", _config())


_lambda: LazySingleton[Any] = LazySingleton(_build_lambda)
_s3: LazySingleton[S3Client] = LazySingleton(_build_s3)
_apigateway: LazySingleton[APIGatewayClient] = LazySingleton(_build_apigateway)
_events: LazySingleton[EventBridgeClient] = LazySingleton(_build_events)
_dynamodb: LazySingleton[DynamoDBClient] = LazySingleton(_build_dynamodb)
_sqs: LazySingleton[SQSClient] = LazySingleton(_build_sqs)


def get_s3_client() -> S3Client:
    return _s3.get()


def get_dynamodb_client() -> DynamoDBClient:
    return _dynamodb.get()


def get_sqs_client() -> SQSClient:
    return _sqs.get()


def get_events_client() -> EventBridgeClient:
    return _events.get()


def get_apigateway_client() -> APIGatewayClient:
    return _apigateway.get()


def get_lambda_client() -> Any:
    """The Lambda client: `invoke` with `DurableExecutionName` starts durable executions."""
    return _lambda.get()


def reset_aws_clients() -> None:
    """Drop the clients and their session (credentials, endpoint), the spend ledger's DynamoDB
    client (`contentgen.clients.dynamodb`) too; the loaded service models stay."""
    for client in (_s3, _dynamodb, _sqs, _events, _apigateway, _lambda):
        client.reset()
    _session.reset()
    reset_ledger_client()
