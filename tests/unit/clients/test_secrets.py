from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from contentgen.clients import secrets
from contentgen.clients.secrets import OPENROUTER_API_KEY, read_api_key
from contentgen.errors import SecretUnavailableError
from local.params_extension import ParametersExtension

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


@pytest.fixture
def extension(ssm: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ParametersExtension]:
    """The template's path: PARAMETERS_SECRETS_EXTENSION_HTTP_PORT set, the endpoint on loopback."""
    server = ParametersExtension().start()
    monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(server.port))
    yield server
    server.shutdown()


def test_through_the_extension_reads_the_decrypted_value_without_an_ssm_client(
    ssm: Any, extension: ParametersExtension
) -> None:
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")

    assert read_api_key(OPENROUTER_API_KEY) == KEY
    assert extension.requests == [PARAM]
    assert secrets._provider is None


def test_through_the_extension_every_read_reaches_ssm(ssm: Any, extension: ParametersExtension) -> None:
    """A re-read (after a provider's 401) sees a rotated value: nothing is cached on our side."""
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")
    assert read_api_key(OPENROUTER_API_KEY) == KEY
    ssm.put_parameter(Name=PARAM, Value="rotated-key-2", Type="SecureString", Overwrite=True)

    assert read_api_key(OPENROUTER_API_KEY) == "rotated-key-2"


def test_through_the_extension_a_missing_parameter_is_503_naming_it_and_not_cached(
    ssm: Any, extension: ParametersExtension
) -> None:
    with pytest.raises(SecretUnavailableError) as caught:
        read_api_key(OPENROUTER_API_KEY)
    assert caught.value.status_code == 503
    assert PARAM in caught.value.message

    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")
    assert read_api_key(OPENROUTER_API_KEY) == KEY


@pytest.mark.parametrize("failure", ["refused", "wrong token", "500"])
def test_through_the_extension_any_failure_is_503_naming_the_parameter(
    ssm: Any,
    extension: ParametersExtension,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    failure: str,
) -> None:
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")
    # Bound for the whole test and never listening: a connection to it is refused (a port probed
    # free and let go could be taken by another process meanwhile).
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    request.addfinalizer(closed.close)
    if failure == "refused":
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(closed.getsockname()[1]))
    elif failure == "wrong token":
        extension.session_token = "another-session"  # not the token this function sends
    else:
        extension.fail_with = 500

    with pytest.raises(SecretUnavailableError) as caught:
        read_api_key(OPENROUTER_API_KEY)

    assert caught.value.status_code == 503
    assert PARAM in caught.value.message
    assert KEY not in caught.value.message


# Read ahead (`read_ahead`): a container's first provider call reads its key while the spend
# ledger's reservation is in flight.


def test_a_key_read_ahead_is_taken_without_a_second_read(ssm: Any, extension: ParametersExtension) -> None:
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")

    discard = secrets.read_ahead(OPENROUTER_API_KEY)

    assert discard is not None
    assert read_api_key(OPENROUTER_API_KEY) == KEY
    discard()  # nothing left to discard: the value was taken
    assert extension.requests == [PARAM]  # one read: the one started ahead


def test_a_key_already_being_read_ahead_is_not_read_again(ssm: Any, extension: ParametersExtension) -> None:
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")

    first = secrets.read_ahead(OPENROUTER_API_KEY)
    second = secrets.read_ahead(OPENROUTER_API_KEY)

    assert first is not None
    assert second is None
    assert read_api_key(OPENROUTER_API_KEY) == KEY
    assert extension.requests == [PARAM]


def test_a_failed_read_ahead_is_raised_where_the_key_is_needed_and_a_later_read_tries_again(
    ssm: Any, extension: ParametersExtension
) -> None:
    extension.fail_with = 500
    secrets.read_ahead(OPENROUTER_API_KEY)

    with pytest.raises(SecretUnavailableError) as caught:
        read_api_key(OPENROUTER_API_KEY)

    assert caught.value.status_code == 503
    assert PARAM in caught.value.message
    assert extension.requests == [PARAM]  # not read a second time for the same need
    extension.fail_with = None
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")
    assert read_api_key(OPENROUTER_API_KEY) == KEY
    assert extension.requests == [PARAM, PARAM]


def test_a_key_read_ahead_and_not_taken_is_discarded_so_a_later_read_sees_a_rotated_value(
    ssm: Any, extension: ParametersExtension
) -> None:
    ssm.put_parameter(Name=PARAM, Value=KEY, Type="SecureString")
    discard = secrets.read_ahead(OPENROUTER_API_KEY)
    assert discard is not None
    secrets._prefetched[PARAM].result(timeout=10)  # the read ahead has finished

    discard()  # the call that started it ended without needing the key (a budget refusal)
    ssm.put_parameter(Name=PARAM, Value="rotated-key-3", Type="SecureString", Overwrite=True)

    assert read_api_key(OPENROUTER_API_KEY) == "rotated-key-3"
    assert extension.requests == [PARAM, PARAM]


def test_a_key_from_the_environment_is_not_read_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)

    assert secrets.read_ahead(OPENROUTER_API_KEY) is None
    assert not secrets._prefetched
    assert read_api_key(OPENROUTER_API_KEY) == KEY
