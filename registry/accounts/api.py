"""JSON routes for the NDA and the caller's own identity."""

from __future__ import annotations

from flask import jsonify

from registry.accounts import service
from registry.api.blueprint import api
from registry.api.util import int_field, json_body, text_field
from registry.runtime import db
from registry.web.policy import current_actor, signed_in_before_gates


@api.get("/nda")
@signed_in_before_gates
def get_nda():
    """The current non-disclosure undertaking (English first; ``texts`` has every language it is published in,
    each with the hash to sign) and whether the caller has signed it."""
    nda = service.current_nda(db())
    if nda is None:
        return jsonify(nda=None, signed=False)
    texts = {
        t.language: {"title": t.title, "text": t.text, "text_sha256": t.text_sha256}
        for t in service.nda_texts(nda).values()
    }
    return jsonify(
        nda={
            "version": nda.version,
            "title": nda.title,
            "text": nda.text,
            "text_sha256": nda.text_sha256,
            "effective_at": nda.effective_at.isoformat(),
            "texts": texts,
        },
        signed=service.has_signed_current(db(), current_actor().user),
    )


@api.post("/nda/acknowledgements")
@signed_in_before_gates
def acknowledge_nda():
    """Sign the current undertaking: version, the text_sha256 of the language read (``language``, default en)
    and typed_full_name (any registered spelling) must match."""
    body = json_body()
    actor = current_actor()
    ack = service.acknowledge_nda(
        db(),
        actor,
        actor.user,
        version=int_field(body, "version", required=True) or 0,
        text_sha256=text_field(body, "text_sha256", required=True, max_length=64),
        typed_full_name=text_field(body, "typed_full_name", required=True, max_length=200),
        language=text_field(body, "language", default="en", max_length=8),
    )
    return jsonify(
        acknowledgement={
            "version": ack.nda_version.version,
            "signed_at": ack.signed_at.isoformat(),
            "text_sha256": ack.text_sha256,
            "language": ack.language,
        }
    ), 201


@api.get("/me")
@signed_in_before_gates
def me():
    """Who the token belongs to, their roles and whether they may see personal data yet."""
    user = current_actor().user
    return jsonify(
        username=user.username,
        full_name=user.full_name,
        roles=sorted(r.value for r in user.roles),
        nda_signed=service.has_signed_current(db(), user),
    )
