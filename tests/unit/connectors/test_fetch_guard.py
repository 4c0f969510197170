"""Names resolved before a provider is asked to fetch them; the resolver is a table, never DNS."""

from __future__ import annotations

import pytest

from contentgen.connectors.fetch_guard import check_fetchable, set_resolver
from contentgen.errors import InvalidRequestError


@pytest.mark.parametrize(
    "url",
    [
        "https://localtest.me/x.png",
        "https://img.localtest.me/x.png",
        "https://127.0.0.1.nip.io/x.png",
        "https://169.254.169.254.nip.io/latest/meta-data/",
        "https://10.0.0.7.nip.io/x.png",
        "https://does-not-resolve.invalid/x.png",
    ],
)
def test_a_name_resolving_to_a_non_public_address_is_refused_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        check_fetchable(url, field="image_url")
    assert refused.value.field == "image_url"
    assert refused.value.status_code == 422


def test_every_answer_must_be_public() -> None:
    set_resolver(lambda name: ["93.184.215.14", "::ffff:127.0.0.1"])
    with pytest.raises(InvalidRequestError, match="non-public"):
        check_fetchable("https://mixed.example.com/x.png", field="image_url")


def test_a_public_name_passes() -> None:
    check_fetchable("https://images.example.com/x.png", field="image_url")
    check_fetchable("data:image/png;base64,AAAA", field="image_url")


def test_the_checked_addresses_are_returned_for_the_fetcher_to_pin() -> None:
    set_resolver(lambda name: ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    assert check_fetchable("https://images.example.com/x.png", field="image_url") == (
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    )
    assert check_fetchable("https://93.184.215.14/x.png", field="image_url") == ("93.184.215.14",)
    assert check_fetchable("data:image/png;base64,AAAA", field="image_url") == ()
