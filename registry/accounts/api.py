"""JSON routes for the NDA and the caller's own identity."""

from __future__ import annotations

from registry.accounts import service
from registry.accounts.models import User
from registry.accounts.schemas import (
    AcknowledgementOut,
    AcknowledgementReply,
    Language,
    Me,
    NdaOut,
    NdaSignature,
    NdaStatus,
    NdaTextOut,
)
from registry.api.blueprint import api
from registry.api.schema import operation
from registry.runtime import db
from registry.web.policy import current_actor, signed_in_before_gates


def _caller() -> User:
    """The signed-in caller (these routes are reached only signed in, before the NDA and MFA gates)."""
    user = current_actor().user
    assert user is not None
    return user


@api.get("/nda")
@signed_in_before_gates
@operation(reply=NdaStatus)
def get_nda() -> NdaStatus:
    """The current non-disclosure undertaking (English first; ``texts`` has every language it is published in,
    each with the hash to sign) and whether the caller has signed it."""
    nda = service.current_nda(db())
    if nda is None:
        return NdaStatus(nda=None, signed=False)
    return NdaStatus(
        nda=NdaOut(
            version=nda.version,
            title=nda.title,
            text=nda.text,
            text_sha256=nda.text_sha256,
            effective_at=nda.effective_at,
            texts={
                Language(t.language): NdaTextOut(title=t.title, text=t.text, text_sha256=t.text_sha256)
                for t in service.nda_texts(nda).values()
            },
        ),
        signed=service.has_signed_current(db(), _caller()),
    )


@api.post("/nda/acknowledgements")
@signed_in_before_gates
@operation(body=NdaSignature, reply=AcknowledgementReply, status=201)
def acknowledge_nda(body: NdaSignature) -> AcknowledgementReply:
    """Sign the current undertaking: version, the text_sha256 of the language read (``language``, default en)
    and typed_full_name (any registered spelling) must match."""
    ack = service.acknowledge_nda(db(), current_actor(), _caller(), **body.model_dump(mode="json"))
    return AcknowledgementReply(
        acknowledgement=AcknowledgementOut(
            version=ack.nda_version.version,
            signed_at=ack.signed_at,
            text_sha256=ack.text_sha256,
            language=Language(ack.language),
        )
    )


@api.get("/me")
@signed_in_before_gates
@operation(reply=Me)
def me() -> Me:
    """Who the token belongs to, their roles and whether they may see personal data yet."""
    user = _caller()
    return Me(
        username=user.username,
        full_name=user.full_name,
        roles=sorted(user.roles),
        nda_signed=service.has_signed_current(db(), user),
    )
