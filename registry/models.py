"""Every table of the registry, imported in one place so the metadata is complete."""

from registry.accounts.models import (  # noqa: F401
    ApiToken,
    LoginAttempt,
    NdaAcknowledgement,
    NdaVersion,
    RoleGrant,
    StaffSession,
    User,
)
from registry.audit.models import AuditChainHead, AuditEvent, AuditEventPerson  # noqa: F401
from registry.cases.models import Case, CaseMember, CasePerson, EmergencyAccess  # noqa: F401
from registry.db import Base
from registry.documents.models import Document, DocumentPerson, DocumentVersion, StoredObject  # noqa: F401
from registry.holds.models import Disposal, DisposalItem, LegalHold  # noqa: F401
from registry.kinship.models import (  # noqa: F401
    CourtRuling,
    CourtRulingRelationship,
    GenomicResult,
    Relationship,
    RelationshipEvent,
    RelationshipEvidence,
)
from registry.matching.models import MatchPair, PersonMatchKey, PersonMerge  # noqa: F401
from registry.persons.models import NameSearchKey, Person, PersonName  # noqa: F401
from registry.restoration.models import RestorationEvent, RestorationEvidence, RestorationRequest  # noqa: F401

metadata = Base.metadata
