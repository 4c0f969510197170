"""boto3 clients for the AWS services the layer uses, lazily built once per container.

They honour `AWS_ENDPOINT_URL` (moto locally) through boto3 itself, with short timeouts and the
standard retry mode: AWS calls are retried by botocore, provider calls by `contentgen.core.retry`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contentgen.clients.lazy import LazySingleton

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


def _config() -> Any:
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.config import Config

    return Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


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
    # Cold start: boto3 loads on the path that uses it, not at import.
    import boto3

    client: S3Client = boto3.client("s3", config=_s3_config())
    return client


def _build_dynamodb() -> DynamoDBClient:
    # Cold start: boto3 loads on the path that uses it, not at import.
    import boto3

    client: DynamoDBClient = boto3.client("dynamodb", config=_config())
    return client


def _build_sqs() -> SQSClient:
    # Cold start: boto3 loads on the path that uses it, not at import.
    import boto3

    client: SQSClient = boto3.client("sqs", config=_config())
    return client


def _build_events() -> EventBridgeClient:
    # Cold start: boto3 loads on the path that uses it, not at import.
    import boto3

    client: EventBridgeClient = boto3.client("events", config=_config())
    return client


def _build_apigateway() -> APIGatewayClient:
    # Cold start: boto3 loads on the path that uses it, not at import.
    import boto3

    client: APIGatewayClient = boto3.client("apigateway", config=_config())
    return client


def _build_lambda() -> Any:
    # Cold start: boto3 loads on the path that uses it, not at import. Typed Any: boto3-stubs'
    # lambda package is not among the dev pins, and only `invoke` is used (durable starts).
    import boto3

    return boto3.client("lambda", config=_config())


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
    for client in (_s3, _dynamodb, _sqs, _events, _apigateway, _lambda):
        client.reset()
