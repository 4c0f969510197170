"""Character analysis from an image: exactly one of an https URL or base64 bytes (png, jpeg, webp)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, StringConstraints, field_validator, model_validator

from contentgen.models.common import CharacterRef, ReplyModel, RequestModel, ResponseModel
from contentgen.models.public_url import HostError, is_public, parse_host, refused_name
from contentgen.models.schema import NON_BLANK, SoftMaxLength
from contentgen.models.usage import Usage, usage_field

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # 5 MiB decoded
MimeType = Literal["image/png", "image/jpeg", "image/webp"]
_SIGNATURES: tuple[tuple[MimeType, bytes, int], ...] = (
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/webp", b"WEBP", 8),  # RIFF....WEBP
)


def sniff_image(data: bytes) -> MimeType | None:
    """The image type from its magic bytes, or None if it is not png, jpeg or webp."""
    for mime, signature, offset in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature and (
            mime != "image/webp" or data[:4] == b"RIFF"
        ):
            return mime
    return None


def check_image_url(url: str) -> str:
    """`url` when the provider may be asked to fetch it; else ValueError saying why.

    The model provider fetches the URL, so it must be one a stranger may make it fetch
    (CONTRACT: https only): `https://`, a host that parses (RFC 3986 §3.2 via
    `urllib.parse.urlsplit`: brackets closed, a port of 1-65535), no `user:password@`, no
    whitespace or control characters, text that can be written as UTF-8, and not a name or
    literal address of this or a private network, with the host read as the fetcher's WHATWG
    parser reads it (`contentgen.models.public_url`: full-width digits, percent-encoded hosts,
    decimal / octal / hex IPv4, trailing dots, IPv6 embedding IPv4, cloud metadata names). Names
    are resolved later, before the provider is asked (`contentgen.connectors.fetch_guard`)."""
    if any(ord(char) < 0x21 or 0x7F <= ord(char) < 0xA0 for char in url):
        raise ValueError("must not contain whitespace or control characters")
    try:
        url.encode("utf-8")
        parts = urlsplit(url)
        port = parts.port  # ValueError when out of 0-65535 or not a number
    except (UnicodeEncodeError, ValueError) as exc:
        raise ValueError(
            f"is not a valid URL ({exc.reason if isinstance(exc, UnicodeEncodeError) else exc})"
        ) from None
    if parts.scheme.lower() != "https":
        raise ValueError("must be an https:// URL")
    if "@" in parts.netloc:
        raise ValueError("must not carry a user name or password")
    if port == 0:
        raise ValueError("must name a port of 1-65535")
    try:
        host = parse_host(_raw_host(parts.netloc))
    except HostError as exc:
        raise ValueError(str(exc)) from None
    if isinstance(host, str):
        if not host:
            raise ValueError("must name a host")
        reason = refused_name(host)
        if reason is not None:
            raise ValueError(reason)
    elif not is_public(host):
        raise ValueError("must not name a loopback, private, link-local, reserved or multicast address")
    return url


def _raw_host(netloc: str) -> str:
    """The host of an authority (no user info, checked before) as written, port removed."""
    if netloc.startswith("["):
        return netloc[: netloc.find("]") + 1] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if ":" in netloc else netloc


class CharacterAnalysisRequest(RequestModel):
    image_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2048)] | None = Field(
        None, description="An https URL the model provider can fetch (contentgen never fetches it)."
    )
    image_base64: str | None = Field(
        None, description="The image bytes, base64 (png, jpeg or webp, at most 5 MiB)."
    )
    mime_type: MimeType | None = Field(None, description="Type of image_base64; checked against its bytes.")

    @field_validator("image_url")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        return None if value is None else check_image_url(value)

    @field_validator("image_base64")
    @classmethod
    def _image_bytes(cls, value: str | None) -> str | None:
        if value is None:
            return None
        payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
        payload = "".join(payload.split())
        if len(payload) * 3 // 4 > MAX_IMAGE_BYTES + 3:
            raise ValueError(f"decoded image must be at most {MAX_IMAGE_BYTES} bytes")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not valid base64") from None
        if len(data) > MAX_IMAGE_BYTES:
            raise ValueError(f"decoded image must be at most {MAX_IMAGE_BYTES} bytes")
        if sniff_image(data) is None:
            raise ValueError("is not a png, jpeg or webp image")
        return payload

    @model_validator(mode="after")
    def _exactly_one_source(self) -> CharacterAnalysisRequest:
        if (self.image_url is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of image_url or image_base64")
        if self.image_url is not None and self.mime_type is not None:
            raise ValueError("mime_type goes with image_base64, not image_url")
        if self.image_base64 is not None:
            detected = sniff_image(base64.b64decode(self.image_base64[:64]))
            if self.mime_type is not None and detected != self.mime_type:
                raise ValueError(f"mime_type is {self.mime_type} but image_base64 holds {detected}")
        return self

    def image_reference(self) -> str:
        """What the model is sent: the https URL, or a data URL of the bytes."""
        if self.image_url is not None:
            return self.image_url
        assert self.image_base64 is not None
        mime = self.mime_type or sniff_image(base64.b64decode(self.image_base64[:64]))
        return f"data:{mime};base64,{self.image_base64}"


class Character(ResponseModel):
    name: str | None
    appearance: str
    clothing: str
    personality_cues: list[str]
    art_style: str
    visual_prompt: str


class CharacterAnalysisResponse(ResponseModel):
    character: Character
    model: str
    usage: Usage | None = usage_field()


def character_ref_limit(field: str) -> int:
    """`CharacterRef`'s `maxLength` for `field` (for a list, of each item), read from its JSON
    schema: the most a reply's field may hold for the character it becomes to be accepted as the
    `character` of `/stories/segments` and the other routes. Raises KeyError for a field without one."""
    node = CharacterRef.model_json_schema()["properties"][field]
    for option in node.get("anyOf", [node]):
        schema = option.get("items", option)
        if "maxLength" in schema:
            return int(schema["maxLength"])
    raise KeyError(f"CharacterRef.{field} has no maxLength")


class CharacterReply(ReplyModel):
    """What the model returns for `/characters/analyze`. Every length limit is a `SoftMaxLength`
    no larger than `CharacterRef`'s (`character_ref_limit`), and there are at most as many cues, so
    whatever analyze returns is accepted as `character` (trimmed at a word, never refused)."""

    name: Annotated[str, SoftMaxLength(character_ref_limit("name"))] | None = Field(
        description="The character's name if the image makes it evident, else null."
    )
    appearance: Annotated[str, SoftMaxLength(min(800, character_ref_limit("appearance")))] = Field(
        pattern=NON_BLANK, description="Face, hair, build, age, distinctive marks."
    )
    clothing: Annotated[str, SoftMaxLength(min(600, character_ref_limit("clothing")))] = Field(
        pattern=NON_BLANK
    )
    personality_cues: list[Annotated[str, SoftMaxLength(character_ref_limit("personality_cues"))]] = Field(
        min_length=1, max_length=6, description="What expression, pose and styling suggest about them."
    )
    art_style: Annotated[str, SoftMaxLength(min(300, character_ref_limit("art_style")))] = Field(
        pattern=NON_BLANK, description="Medium, rendering, palette, lighting."
    )
    visual_prompt: Annotated[str, SoftMaxLength(character_ref_limit("visual_prompt"))] = Field(
        pattern=NON_BLANK,
        description="English prompt that reproduces this character in a new scene: look, clothing and art style.",
    )
