"""What opening a case, adding its members and persons, and breaking glass take (the API's bodies and the case
pages' forms), and what a case looks like to a client."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from registry.api.schema import Body, Line, Reply, invalid
from registry.cases.models import Case
from registry.i18n import _

REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._-]{0,63}")
MIN_REASON = 10


def _reference(value: str) -> str:
    if not REFERENCE.fullmatch(value):
        raise invalid(str(_("A case reference is 1 to 64 letters, digits or / . _ -")))
    return value


def _titled(value: str) -> str:
    if not value:
        raise invalid(str(_("Give the case a title.")))
    return value


def _explained(value: str) -> str:
    if len(value) < MIN_REASON:
        raise invalid(str(_("Explain in a sentence (at least 10 characters) why you need this access.")))
    return value


class CaseCreate(Body):
    """A new case."""

    reference: Annotated[Line, AfterValidator(_reference)] = Field(
        json_schema_extra={"pattern": REFERENCE.pattern}, examples=["KZ-2026/17"]
    )
    title: Annotated[Line, Field(max_length=200), AfterValidator(_titled)] = Field(examples=["Return of minors"])
    court_case_number: Annotated[Line, Field(max_length=100)] = ""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reference": "KZ-7", "title": "Return of minors"}]})


class CaseMemberAdd(Body):
    """A staff member to add to a case (a lawyer, caseworker or clerk), by user name."""

    username: Annotated[Line, Field(min_length=1, max_length=64)] = Field(examples=["a.serikova"])


class CasePersonAdd(Body):
    """A person to put into a case, by id."""

    person_id: Annotated[Line, Field(min_length=1, max_length=36)]


class EmergencyAccessOpen(Body):
    """Why one person must be opened outside the caller's cases now."""

    reason: Annotated[Line, Field(max_length=1000), AfterValidator(_explained)] = Field(
        examples=["The mother is at the desk now and asks about her son."]
    )


# ---------------------------------------------------------------- answers


class CaseOut(Reply):
    id: str
    reference: str
    title: str
    court_case_number: str
    is_open: bool
    members: list[str] = Field(description="user ids of the case's members")
    persons: list[str] = Field(description="ids of the case's persons")

    @classmethod
    def of(cls, case: Case) -> CaseOut:
        return cls(
            id=case.id,
            reference=case.reference,
            title=case.title,
            court_case_number=case.court_case_number,
            is_open=case.is_open,
            members=[m.user_id for m in case.members],
            persons=[p.person_id for p in case.persons],
        )


class CaseReply(Reply):
    case: CaseOut


class CasePage(Reply):
    """One page of the caller's cases."""

    cases: list[CaseOut]
    total: int
    page: int
    per_page: int
    pages: int


class EmergencyAccessOut(Reply):
    person_id: str
    expires_at: datetime


class EmergencyAccessReply(Reply):
    """The emergency access opened, and when it ends."""

    emergency_access: EmergencyAccessOut
