from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contentgen.errors import SecretUnavailableError
from contentgen.secrets import OPENROUTER_API_KEY, read_api_key

PARAM = "/contentgen/openrouter-api-key"
KEY = "unit-test-openrouter-key-6f1c"


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("OPENROUTER_API_KEY_PARAM", PARAM)
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


def test_reads_a_secure_string_decrypted(ssm: Any) -> None:
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")

    assert read_api_key(OPENROUTER_API_KEY) == KEY


def test_missing_parameter_is_503_naming_it_and_is_not_cached(ssm: Any) -> None:
    with pytest.raises(SecretUnavailableError) as caught:
        read_api_key(OPENROUTER_API_KEY)
    assert caught.value.status_code == 503
    assert PARAM in caught.value.message

    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")

    assert read_api_key(OPENROUTER_API_KEY) == KEY


def test_error_never_contains_the_value(ssm: Any) -> None:
    ssm.put_parameter(Name=PARAM, Value="   ", Type="SecureString")

    with pytest.raises(SecretUnavailableError) as caught:
        read_api_key(OPENROUTER_API_KEY)

    assert "empty" in caught.value.message


def test_locally_the_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)

    assert read_api_key(OPENROUTER_API_KEY) == KEY


def test_no_parameter_and_no_variable_says_what_to_set() -> None:
    with pytest.raises(SecretUnavailableError) as caught:
        read_api_key(OPENROUTER_API_KEY)

    assert "OPENROUTER_API_KEY" in caught.value.message
