"""What signing the undertaking takes (the API's body and the NDA page's form), and what the undertaking and the
caller's own identity look like to a client."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from registry.accounts.permissions import Role
from registry.api.schema import Body, Line, Reply


class Language(StrEnum):
    """The languages an undertaking is published in (registry.i18n.LOCALES)."""

    EN = "en"
    RU = "ru"
    KK = "kk"


class NdaSignature(Body):
    """A signature of the current undertaking: its version, the hash of the text read in ``language``, and the
    signer's full name as typed (any spelling registered for them)."""

    version: int = Field(ge=1)
    text_sha256: Annotated[Line, Field(min_length=1, max_length=64)]
    typed_full_name: Annotated[Line, Field(min_length=1, max_length=200)]
    language: Language = Language.EN

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 1,
                    "text_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "typed_full_name": "Айгерим Серикова",
                    "language": "kk",
                }
            ]
        }
    )


# ---------------------------------------------------------------- answers


class NdaTextOut(Reply):
    title: str
    text: str
    text_sha256: str = Field(description="the hash to sign when this text was read")


class NdaOut(Reply):
    version: int
    title: str
    text: str
    text_sha256: str
    effective_at: datetime
    texts: dict[Language, NdaTextOut] = Field(description="every language the undertaking is published in")


class NdaStatus(Reply):
    """The current undertaking (none before one is published) and whether the caller has signed it."""

    nda: NdaOut | None
    signed: bool


class AcknowledgementOut(Reply):
    version: int
    signed_at: datetime
    text_sha256: str
    language: Language


class AcknowledgementReply(Reply):
    """The signature recorded (the earlier one, if the caller had signed this version already)."""

    acknowledgement: AcknowledgementOut


class Me(Reply):
    """The token's owner."""

    username: str
    full_name: str
    roles: list[Role]
    nda_signed: bool = Field(description="false: personal data stays closed until the undertaking is signed")
