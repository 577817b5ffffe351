"""The one table that says what each role may do.

Every route names one permission (or is explicitly public / login-only); the
central request hook enforces it, and the NDA gate applies to every permission
that reaches personal data.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"
    LAWYER = "lawyer"
    CASEWORKER = "caseworker"
    AUDITOR = "auditor"


class Permission(StrEnum):
    PERSON_READ = "person.read"
    PERSON_WRITE = "person.write"
    PERSON_IMPORT = "person.import"
    DOCUMENT_READ = "document.read"
    DOCUMENT_UPLOAD = "document.upload"
    DOCUMENT_ORIGINAL = "document.original"
    GENOMIC_READ = "genomic.read"
    KINSHIP_READ = "kinship.read"
    KINSHIP_WRITE = "kinship.write"
    BUNDLE_EXPORT = "bundle.export"
    RESTORATION_READ = "restoration.read"
    RESTORATION_WRITE = "restoration.write"
    CASE_READ = "case.read"
    CASE_MANAGE = "case.manage"
    CASE_PERSONS = "case.persons"
    EMERGENCY_ACCESS = "emergency.access"
    AUDIT_READ = "audit.read"
    ACCESS_REPORT = "audit.access_report"
    USER_MANAGE = "user.manage"
    # The list of role-change proposals and their decisions: auditors check it, administrators work from it.
    ROLE_CHANGE_READ = "role_change.read"
    NDA_MANAGE = "nda.manage"
    HOLD_MANAGE = "hold.manage"
    # Proposing and approving disposals under the retention schedule (never the same person for one disposal).
    RETENTION_MANAGE = "retention.manage"
    PERSON_EXPORT = "person.export"


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset(
        {
            P.PERSON_READ,
            P.PERSON_WRITE,
            P.PERSON_IMPORT,
            P.DOCUMENT_READ,
            P.DOCUMENT_UPLOAD,
            P.DOCUMENT_ORIGINAL,
            P.GENOMIC_READ,
            P.KINSHIP_READ,
            P.KINSHIP_WRITE,
            P.RESTORATION_READ,
            P.RESTORATION_WRITE,
            P.CASE_READ,
            P.CASE_PERSONS,
            P.EMERGENCY_ACCESS,
            P.HOLD_MANAGE,
            P.RETENTION_MANAGE,
            P.PERSON_EXPORT,
        }
    ),
    Role.LAWYER: frozenset(
        {
            P.PERSON_READ,
            P.DOCUMENT_READ,
            P.DOCUMENT_UPLOAD,
            P.DOCUMENT_ORIGINAL,
            P.GENOMIC_READ,
            P.KINSHIP_READ,
            P.KINSHIP_WRITE,
            P.BUNDLE_EXPORT,
            P.RESTORATION_READ,
            P.CASE_READ,
            P.EMERGENCY_ACCESS,
            P.HOLD_MANAGE,
            P.PERSON_EXPORT,
        }
    ),
    Role.CASEWORKER: frozenset(
        {
            P.PERSON_READ,
            P.DOCUMENT_READ,
            P.KINSHIP_READ,
            P.RESTORATION_READ,
            P.CASE_READ,
        }
    ),
    Role.AUDITOR: frozenset({P.AUDIT_READ, P.ACCESS_REPORT, P.ROLE_CHANGE_READ}),
    Role.ADMIN: frozenset(
        {P.USER_MANAGE, P.NDA_MANAGE, P.CASE_READ, P.CASE_MANAGE, P.CASE_PERSONS, P.ROLE_CHANGE_READ}
    ),
}

# Roles that reach personal data (the auditor reads who saw whom). An account never holds one of them
# together with admin: whoever manages accounts could otherwise hand themselves any person's file.
PERSONAL_DATA_ROLES: frozenset[Role] = frozenset({Role.CLERK, Role.LAWYER, Role.CASEWORKER, Role.AUDITOR})

# Permissions whose routes show or change personal data: the NDA gate guards all of them.
# Admin permissions are included: user and case pages name staff and persons.
PERSONAL_DATA: frozenset[Permission] = frozenset(Permission)

# Roles that see every person of the registry; the others see persons through their cases.
REGISTRY_WIDE_ROLES: frozenset[Role] = frozenset({Role.CLERK})


def permissions_for(roles: set[Role] | frozenset[Role] | list[Role]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)
