"""Words a clerk reads for the codes the registry stores (sex, status, document kind, log action...).

Pages show `{{ person.sex|label("sex") }}`: the code is stored and exchanged as is,
the words follow the clerk's language. A code without words (new, or from an
older record) is shown as it is rather than hidden.
"""
from __future__ import annotations

from typing import Any

from flask import Flask

from registry.accounts.permissions import Role
from registry.audit.events import Action, Outcome
from registry.documents.models import PersonRole
from registry.i18n import _
from registry.persons.models import Category, DatePrecision, NameKind, PersonStatus, Script, Sex

LABELS: dict[str, dict[str, Any]] = {
    "sex": {Sex.FEMALE: _("female"), Sex.MALE: _("male"), Sex.UNKNOWN: _("not known")},
    "date_precision": {
        DatePrecision.EXACT: _("exact date"), DatePrecision.MONTH: _("month and year only"),
        DatePrecision.YEAR: _("year only"), DatePrecision.ESTIMATED: _("estimated"),
        DatePrecision.UNKNOWN: _("date not known"),
    },
    "category": {Category.CHILD: _("child"), Category.ORPHAN: _("orphan"), Category.WOMAN: _("woman"),
                 Category.MAN: _("man")},
    "person_status": {
        PersonStatus.IDENTIFIED_ABROAD: _("identified abroad"),
        PersonStatus.CONSENTED_TO_RETURN: _("consented to return"), PersonStatus.RETURNED: _("returned"),
        PersonStatus.IN_REHABILITATION: _("in rehabilitation"), PersonStatus.RESETTLED: _("resettled"),
        PersonStatus.REFUSED_TO_RETURN: _("refused to return"),
    },
    "name_kind": {
        NameKind.BIRTH: _("name at birth"), NameKind.RECORDED_ABROAD: _("name as recorded abroad"),
        NameKind.CHOSEN_BY_MOTHER: _("name chosen by the mother"), NameKind.OFFICIAL: _("official name"),
        NameKind.ALIAS: _("alias"),
    },
    "script": {Script.CYRILLIC: _("Cyrillic"), Script.LATIN: _("Latin"), Script.ARABIC: _("Arabic")},
    "document_kind": {
        "identity_document": _("identity document"), "passport": _("passport"),
        "birth_record": _("birth record"), "genomic_test_result": _("genomic (DNA) test result"),
        "court_ruling": _("court ruling"), "consent_receipt": _("voluntary return receipt"),
        "other": _("other document"),
    },
    "person_role": {
        PersonRole.SUBJECT: _("the person concerned"), PersonRole.MOTHER: _("mother"),
        PersonRole.FATHER: _("father"), PersonRole.CHILD: _("child"),
        PersonRole.ALLEGED_PARENT: _("alleged parent"), PersonRole.APPLICANT: _("applicant"),
    },
    "version_reason": {"initial": _("first upload")},
    "staff_role": {Role.ADMIN: _("administrator"), Role.CLERK: _("registry clerk"), Role.LAWYER: _("lawyer"),
                   Role.CASEWORKER: _("caseworker"), Role.AUDITOR: _("auditor")},
    "outcome": {Outcome.ALLOWED: _("allowed"), Outcome.DENIED: _("denied"), Outcome.FAILED: _("failed")},
    "action": {
        Action.LOGIN: _("signed in"), Action.LOGIN_FAILED: _("sign-in failed"), Action.LOGOUT: _("signed out"),
        Action.MFA_ENROLLED: _("set up two-step sign-in"), Action.PASSWORD_CHANGED: _("changed the password"),
        Action.TOKEN_CREATED: _("created an API token"), Action.TOKEN_REVOKED: _("revoked an API token"),
        Action.TOKEN_REJECTED: _("API token refused"), Action.NDA_PUBLISHED: _("published a new NDA text"),
        Action.NDA_SIGNED: _("signed the NDA"), Action.ACCESS_DENIED: _("access refused"),
        Action.EMERGENCY_ACCESS: _("emergency access"), Action.USER_CREATED: _("created a staff account"),
        Action.USER_CHANGED: _("changed a staff account"), Action.ROLES_CHANGED: _("changed roles"),
        Action.CASE_CREATED: _("opened a case"), Action.CASE_MEMBER_ADDED: _("added a case member"),
        Action.CASE_MEMBER_REMOVED: _("removed a case member"),
        Action.CASE_PERSON_ADDED: _("added a person to a case"), Action.PERSON_CREATED: _("registered a person"),
        Action.PERSON_UPDATED: _("changed a person's record"), Action.PERSON_VIEWED: _("viewed a person's record"),
        Action.PERSON_SEARCHED: _("searched for persons"), Action.PERSONS_IMPORTED: _("imported persons"),
        Action.DOCUMENT_UPLOADED: _("uploaded a document"),
        Action.DOCUMENT_VERSION_ADDED: _("added a document version"),
        Action.DOCUMENT_LINKED: _("linked a document to a person"), Action.DOCUMENT_VIEWED: _("viewed a document"),
        Action.DOCUMENT_CONTENT_READ: _("opened a document's viewing copy"),
        Action.DOCUMENT_ORIGINAL_READ: _("downloaded a document's original"),
        Action.RELATIONSHIP_CLAIMED: _("recorded a kinship claim"),
        Action.RELATIONSHIP_CHANGED: _("changed a kinship status"),
        Action.RELATIONSHIP_VIEWED: _("viewed kinship"), Action.EVIDENCE_ATTACHED: _("attached kinship evidence"),
        Action.BUNDLE_EXPORTED: _("exported an evidence bundle"),
        Action.RESTORATION_OPENED: _("opened a document restoration"),
        Action.RESTORATION_CHANGED: _("changed a document restoration"),
        Action.RESTORATION_VIEWED: _("viewed a document restoration"), Action.AUDIT_READ: _("read the access log"),
        Action.ACCESS_REPORT_READ: _("read an access report"),
        Action.ACCESS_REPORT_EXPORTED: _("exported an access report"),
        Action.REQUEST_REFUSED: _("request refused"),
        Action.ROLE_CHANGE_PROPOSED: _("proposed a role change"),
        Action.ROLE_CHANGE_APPROVED: _("approved a role change"),
        Action.ROLE_CHANGE_REJECTED: _("rejected a role change"),
        Action.ACCOUNT_SETUP_ISSUED: _("issued an account set-up link"),
        Action.ACCOUNT_SET_UP: _("set up their account"),
    },
    "target": {
        "person": _("person"), "person_search": _("person search"), "person_import": _("person import"),
        "document": _("document"), "case": _("case"), "user": _("staff account"), "api_token": _("API token"),
        "nda": _("NDA"), "emergency_access": _("emergency access"), "relationship": _("kinship"),
        "kinship_lists": _("kinship lists"), "restoration": _("document restoration"),
        "restoration_list": _("restoration list"), "audit": _("access log"), "anomalies": _("anomalies"),
    },
}


def label(value: Any, group: str) -> str:
    """The words for a stored code in the current language; the code itself if it has none."""
    if value is None:
        return ""
    words = LABELS[group].get(value)
    return str(value if words is None else words)


def register(app: Flask) -> None:
    """A filter, not a global: form macros already take a parameter called `label`."""
    app.add_template_filter(label)
