"""A realistic, entirely SYNTHETIC data set for demonstrations and for trying the pages.

Families shaped like those of the 2019 returns: mothers and children born abroad, orphans
whose grandparents claim them, names in Cyrillic, Latin and Arabic script. Every record
goes through the real services (persons, the document upload pipeline, kinship rules,
restoration steps), so the data obeys the same rules as real work and the access log
shows each step. The scans are drawn with Pillow and say on their face that they are fake.
"""

from __future__ import annotations

import io
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from random import Random
from typing import Any

import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.orm import Session

from registry.accounts import service as accounts
from registry.accounts.actor import Actor
from registry.accounts.models import User
from registry.accounts.permissions import Role
from registry.audit.service import SYSTEM
from registry.cases import service as cases
from registry.cases.models import Case
from registry.documents import service as documents
from registry.documents.copies import ViewingCopies
from registry.documents.models import Document
from registry.documents.schemas import DocumentUpload
from registry.kinship import service as kinship
from registry.kinship.models import Relationship, RelationshipStatus
from registry.persons import service as persons
from registry.persons.models import Person
from registry.persons.schemas import PersonCreate
from registry.restoration import service as restoration
from registry.restoration.models import RestorationRequest, RestorationStatus
from storage import EncryptedStore

STAFF = (
    ("demo-admin", "Aliya Demo-Admin", Role.ADMIN),
    ("demo-clerk-1", "Gulnara Demo-Clerk", Role.CLERK),
    ("demo-clerk-2", "Bauyrzhan Demo-Clerk", Role.CLERK),
    ("demo-lawyer-1", "Saule Demo-Lawyer", Role.LAWYER),
    ("demo-lawyer-2", "Timur Demo-Lawyer", Role.LAWYER),
    ("demo-caseworker", "Dinara Demo-Caseworker", Role.CASEWORKER),
    ("demo-auditor", "Marat Demo-Auditor", Role.AUDITOR),
)

# (Cyrillic, Latin, Arabic)
FEMALE = (
    ("Айгерим", "Aigerim", "أيغريم"),
    ("Асель", "Assel", "أسيل"),
    ("Мадина", "Madina", "مدينة"),
    ("Айша", "Aisha", "عائشة"),
    ("Фатима", "Fatima", "فاطمة"),
    ("Амина", "Amina", "أمينة"),
    ("Сафия", "Safiya", "صفية"),
    ("Зарина", "Zarina", "زارينا"),
    ("Хадиджа", "Khadija", "خديجة"),
    ("Марьям", "Maryam", "مريم"),
    ("Жанар", "Zhanar", "جانار"),
    ("Дана", "Dana", "دانا"),
)
MALE = (
    ("Ахмед", "Akhmed", "أحمد"),
    ("Али", "Ali", "علي"),
    ("Омар", "Omar", "عمر"),
    ("Юсуф", "Yusuf", "يوسف"),
    ("Ибрагим", "Ibragim", "إبراهيم"),
    ("Нурлан", "Nurlan", "نورلان"),
    ("Билал", "Bilal", "بلال"),
    ("Хамза", "Khamza", "حمزة"),
    ("Мухаммед", "Mukhammed", "محمد"),
    ("Ерлан", "Yerlan", "يرلان"),
)
# (Cyrillic male, Cyrillic female, Latin male, Latin female)
SURNAMES = (
    ("Абдирасулов", "Абдирасулова", "Abdirasulov", "Abdirasulova"),
    ("Жумабаев", "Жумабаева", "Zhumabayev", "Zhumabayeva"),
    ("Сейткалиев", "Сейткалиева", "Seitkaliyev", "Seitkaliyeva"),
    ("Касымов", "Касымова", "Kassymov", "Kassymova"),
    ("Тулегенов", "Тулегенова", "Tulegenov", "Tulegenova"),
    ("Омаров", "Омарова", "Omarov", "Omarova"),
    ("Ибраев", "Ибраева", "Ibrayev", "Ibrayeva"),
    ("Нурланов", "Нурланова", "Nurlanov", "Nurlanova"),
)
PLACES_ABROAD = (
    "Raqqa, Syria",
    "Deir ez-Zor, Syria",
    "Al-Hol camp, Syria",
    "Mosul, Iraq",
    "Baghouz, Syria",
    "Tal Afar, Iraq",
)
PLACES_HOME = ("Almaty", "Aktobe", "Shymkent", "Karaganda", "Atyrau", "Taraz")
CENTRES = ("Aktau rehabilitation centre", "Almaty region social service", "Aktobe adaptation centre")
STATUS_CYCLE = (
    RelationshipStatus.CLAIMED,
    RelationshipStatus.TESTING,
    RelationshipStatus.GENETICALLY_SUPPORTED,
    RelationshipStatus.COURT_ESTABLISHED,
    RelationshipStatus.EXCLUDED,
    RelationshipStatus.WITHDRAWN,
)
RESTORATION_CYCLE = (
    RestorationStatus.OPENED,
    RestorationStatus.EVIDENCE_COLLECTED,
    RestorationStatus.SUBMITTED,
    RestorationStatus.ISSUED,
    RestorationStatus.HANDED_OVER,
    RestorationStatus.REJECTED,
)
MARK = "SYNTHETIC DEMO DOCUMENT - NOT A REAL RECORD"


# ---------------------------------------------------------------- synthetic scans


def scan(title: str, lines: list[str], fmt: str = "PNG") -> bytes:
    """A page that looks like a photographed or scanned paper, drawn in memory."""
    page = Image.new("RGB", (620, 820), (250, 248, 240))
    draw = ImageDraw.Draw(page)
    big, small = ImageFont.load_default(size=24), ImageFont.load_default(size=16)
    draw.rectangle((20, 20, 600, 800), outline=(60, 60, 60), width=3)
    draw.text((40, 40), title, fill=(20, 20, 20), font=big)
    for i, line in enumerate(lines):
        draw.text((40, 100 + 30 * i), line, fill=(30, 30, 30), font=small)
    draw.text((40, 770), MARK, fill=(170, 30, 30), font=small)
    out = io.BytesIO()
    page.save(out, fmt)
    return out.getvalue()


# ---------------------------------------------------------------- the builder


@dataclass
class _Builder:
    db: Session
    store: EncryptedStore
    policy: documents.UploadPolicy
    rng: Random
    staff: dict[str, Actor]
    users: dict[str, User]
    tag: str
    counts: Counter = field(default_factory=Counter)
    relationship_n: int = 0
    restoration_n: int = 0

    # ---- people

    def person(
        self,
        *,
        sex: str,
        given: tuple[str, str, str],
        surname: str,
        surname_latin: str,
        born: date,
        precision: str,
        categories: list[str],
        status: str,
        place_abroad: str = "",
        arabic_family: str = "",
    ) -> Person:
        names = [
            {"family_name": surname, "given_name": given[0], "script": "cyrillic", "kind": "official"},
            {"family_name": surname_latin, "given_name": given[1], "script": "latin", "kind": "recorded_abroad"},
            {"family_name": arabic_family, "given_name": given[2], "script": "arabic", "kind": "recorded_abroad"},
        ]
        registration = PersonCreate.model_validate(
            {
                "names": names,
                "sex": sex,
                "birth_date": born.isoformat(),
                "birth_date_precision": precision,
                "categories": categories,
                "status": status,
                "place_of_birth_recorded": place_abroad,
                "citizenship": "KZ" if status != "identified_abroad" else "",
                "return_operation": "Zhusan",
                "return_stage": f"Zhusan-{self.rng.randint(1, 5)}",
                "centre_or_region": self.rng.choice(CENTRES),
                "restricted_notes": "Synthetic demo person.",
            }
        )
        person = persons.create_person(self.db, self.staff["clerk1"], registration)
        self.counts["persons"] += 1
        return person

    def upload(
        self, actor: Actor, person: Person, kind: str, title: str, content: bytes, filename: str, role: str = "subject"
    ) -> Document:
        declared = "application/pdf" if filename.endswith(".pdf") else "image/png"
        result = documents.upload_document(
            self.db,
            actor,
            self.store,
            self.policy,
            person_id=person.id,
            described=DocumentUpload(kind=kind, title=title, role=role),
            upload=documents.UploadedFile(io.BytesIO(content), filename, declared),
        )
        self.counts["documents"] += 1
        return result.document

    # ---- kinship

    def genomic(self, actor: Actor, child: Person, relative: Person, conclusion: str) -> Document:
        lines = [
            "Laboratory: Central Forensic Genetics Laboratory (demo)",
            f"Child: {child.registry_number}",
            f"Alleged relative: {relative.registry_number}",
            "Method: autosomal STR, 24 loci",
            f"Conclusion: {conclusion}",
        ]
        document = self.upload(
            actor,
            child,
            "genomic_test_result",
            f"Genomic examination {child.registry_number} / {relative.registry_number}",
            scan("GENOMIC EXAMINATION REPORT", lines, "PDF"),
            "genomic-report.pdf",
            "child",
        )
        documents.link_person(self.db, actor, document, relative.id, "alleged_parent")
        inclusion = conclusion == "inclusion"
        kinship.record_genomic_result(
            self.db,
            actor,
            document.id,
            {
                "laboratory": "Central Forensic Genetics Laboratory (demo)",
                "accreditation": "ISO/IEC 17025, KZ.T.02.0000 (demo)",
                "accredited_iso17025": True,
                "accredited_until": (date.today() + timedelta(days=700)).isoformat(),
                "reported_on": (date.today() - timedelta(days=20)).isoformat(),
                "method": "autosomal_str",
                "loci_tested": 24,
                "inconsistent_loci": 0 if inclusion else 7,
                "combined_relationship_index": "2150000" if inclusion else "0",
                "probability_of_relatedness": "99.9999" if inclusion else "0",
                "conclusion": conclusion,
                "tested_person_ids": [child.id, relative.id],
                "collected_by": "Forensic nurse A. Demo",
                "collected_on": (date.today() - timedelta(days=40)).isoformat(),
                "collected_where": self.rng.choice(CENTRES),
                "identity_checked_by": "Forensic nurse A. Demo",
                "witness": "Social worker B. Demo",
                "identity_checks": [
                    {
                        "person_id": p.id,
                        "document_type": kind,
                        "document_number": str(self.rng.randint(10_000_000, 99_999_999)),
                    }
                    for p, kind in ((child, "birth record"), (relative, "identity card"))
                ],
                "seal_numbers": [f"S-{self.rng.randint(100000, 999999)}", f"S-{self.rng.randint(100000, 999999)}"],
                "custody_notes": "Sealed at collection; courier log kept with the laboratory.",
                "cost": "85000",
                "cost_currency": "KZT",
                "cost_covered_by": self.rng.choice(("state", "private")),
            },
        )
        return document

    def ruling(self, actor: Actor, relationship: Relationship, person: Person, relative: Person) -> Document:
        number = f"2-{self.rng.randint(1000, 9999)}/{date.today().year}"
        lines = [
            "Specialised inter-district court for civil cases (demo)",
            f"Case {number}",
            f"Established: {relative.registry_number} is {relationship.kind} of {person.registry_number}",
        ]
        document = self.upload(
            actor,
            person,
            "court_ruling",
            f"Court ruling {number}",
            scan("COURT RULING", lines, "PDF"),
            "ruling.pdf",
            "child",
        )
        documents.link_person(self.db, actor, document, relative.id, "alleged_parent")
        kinship.record_court_ruling(
            self.db,
            actor,
            document.id,
            {
                "court": "Specialised inter-district court for civil cases of Almaty (demo)",
                "case_number": number,
                "ruling_date": (date.today() - timedelta(days=5)).isoformat(),
                "decision": "The kinship is established on the genomic examination and the testimony heard.",
                "appeal_status": "final",
                "relationship_ids": [relationship.id],
            },
        )
        return document

    def relationship(
        self, actor: Actor, person: Person, relative: Person, kind: str, target: str | None = None
    ) -> Relationship:
        """Claim it and walk it, through the real rules, to the status this turn of the cycle wants."""
        if target is None:
            target = STATUS_CYCLE[self.relationship_n % len(STATUS_CYCLE)]
            self.relationship_n += 1
        relationship = kinship.claim_relationship(
            self.db,
            actor,
            person_id=person.id,
            relative_id=relative.id,
            kind=kind,
            note="Stated by the family at registration.",
        )
        if target == RelationshipStatus.WITHDRAWN:
            kinship.change_status(
                self.db, actor, relationship.id, status="withdrawn", note="The applicant withdrew the claim."
            )
        elif target != RelationshipStatus.CLAIMED and kind != "guardian":
            kinship.change_status(self.db, actor, relationship.id, status="testing", note="Samples requested.")
            if target != RelationshipStatus.TESTING:
                conclusion = "exclusion" if target == RelationshipStatus.EXCLUDED else "inclusion"
                evidence = self.genomic(actor, person, relative, conclusion)
                kinship.attach_evidence(self.db, actor, relationship.id, document_id=evidence.id)
        if target == RelationshipStatus.COURT_ESTABLISHED:
            evidence = self.ruling(actor, relationship, person, relative)
            kinship.attach_evidence(self.db, actor, relationship.id, document_id=evidence.id)
        self.counts[f"relationship:{relationship.status}"] += 1
        return relationship

    # ---- restoration

    def restore(
        self, person: Person, wanted: str, reason: str, evidence: Document, mother: Person | None = None
    ) -> RestorationRequest:
        """Open a request and walk it to the status this turn of the cycle wants."""
        clerk = self.staff["clerk1" if self.restoration_n % 2 == 0 else "clerk2"]
        target = RESTORATION_CYCLE[self.restoration_n % len(RESTORATION_CYCLE)]
        self.restoration_n += 1
        request = restoration.open_request(
            self.db,
            clerk,
            person_id=person.id,
            document_wanted=wanted,
            reason=reason,
            assigned_clerk_id=clerk.user_id or "",
            notes="Applicant came to the registry office.",
        )
        if target == RestorationStatus.REJECTED:
            restoration.change_status(
                self.db,
                clerk,
                request.id,
                status="rejected",
                note="The person is already documented by another region.",
            )
        elif target != RestorationStatus.OPENED:
            restoration.attach_evidence(self.db, clerk, request.id, document_id=evidence.id)
            if mother is not None and wanted == "birth_record":
                self.mother_choices(clerk, request, person, mother)
            restoration.change_status(self.db, clerk, request.id, status="evidence_collected")
            for step in RESTORATION_CYCLE[2 : RESTORATION_CYCLE.index(target) + 1]:
                issued = self.issued(clerk, person, wanted) if step == RestorationStatus.ISSUED else None
                restoration.change_status(
                    self.db,
                    clerk,
                    request.id,
                    status=step,
                    issued_document_id=issued.id if issued else "",
                    note="Handed over in person." if step == RestorationStatus.HANDED_OVER else "",
                )
        if self.restoration_n % 4 == 0 and request.status not in ("handed_over", "rejected"):
            request.due_date = date.today() - timedelta(days=self.rng.randint(1, 20))  # opened weeks ago
        self.counts[f"restoration:{request.status}"] += 1
        return request

    def mother_choices(self, clerk: Actor, request: RestorationRequest, child: Person, mother: Person) -> None:
        restoration.record_mother_choices(
            self.db,
            clerk,
            request.id,
            {
                "mother_id": mother.id,
                "mother_consent": True,
                "chosen_family_name": mother.official_name.family_name if mother.official_name else "",
                "chosen_given_name": child.official_name.given_name if child.official_name else "",
                "chosen_place_of_birth": self.rng.choice(PLACES_HOME),
                "actual_place_of_birth": child.place_of_birth_recorded,
            },
        )

    def issued(self, clerk: Actor, person: Person, wanted: str) -> Document:
        words = wanted.replace("_", " ")
        return self.upload(
            clerk,
            person,
            wanted,
            f"Issued {words}, {person.registry_number}",
            scan(
                f"ISSUED {words.upper()}", [f"Holder: {person.registry_number}", "Republic of Kazakhstan (demo)"], "PDF"
            ),
            f"issued-{wanted}.pdf",
        )

    # ---- families

    def case(self, index: int, lawyer: str) -> Case:
        case = cases.create_case(
            self.db,
            self.staff["admin"],
            reference=f"DEMO-{self.tag}-{index + 1:02d}",
            title=f"Return and kinship, family {index + 1} (demo)",
            court_case_number=f"2-{self.rng.randint(1000, 9999)}/{date.today().year}",
        )
        for name in (lawyer, "caseworker"):
            cases.add_member(self.db, self.staff["admin"], case, self.users[name])
        self.counts["cases"] += 1
        return case

    def child(self, surname: tuple[str, str, str, str], father: tuple[str, str, str], orphan: bool) -> Person:
        sex = self.rng.choice(("female", "male"))
        given = self.rng.choice(FEMALE if sex == "female" else MALE)
        female = sex == "female"
        return self.person(
            sex=sex,
            given=given,
            surname=surname[1] if female else surname[0],
            surname_latin=surname[3] if female else surname[2],
            born=date(self.rng.randint(2014, 2019), self.rng.randint(1, 12), 1),
            precision=self.rng.choice(("year", "estimated", "month")),
            categories=["child", "orphan"] if orphan else ["child"],
            status="in_rehabilitation",
            place_abroad=self.rng.choice(PLACES_ABROAD),
            arabic_family=("بنت " if female else "بن ") + father[2],
        )

    def foreign_birth_record(self, child: Person) -> Document:
        return self.upload(
            self.staff["clerk1"],
            child,
            "birth_record",
            f"Birth record issued abroad, {child.place_of_birth_recorded.split(',')[0]}",
            scan(
                "BIRTH NOTIFICATION (issued abroad)",
                [
                    f"Child: {child.names[1].full}",
                    f"Place: {child.place_of_birth_recorded}",
                    f"Date: {child.birth_date.year if child.birth_date else 'unknown'}",
                ],
            ),
            "birth-record-abroad.png",
        )

    def family(self, index: int) -> None:
        lawyer = "lawyer1" if index % 2 == 0 else "lawyer2"
        case = self.case(index, lawyer)
        surname = SURNAMES[index % len(SURNAMES)]
        father = self.rng.choice(MALE)
        orphans = index % 3 == 1
        children = [self.child(surname, father, orphans) for _n in range(2 if orphans else 2 + index % 2)]
        grandparent = (
            self.person(
                sex="female",
                given=self.rng.choice(FEMALE),
                surname=surname[1],
                surname_latin=surname[3],
                born=date(self.rng.randint(1955, 1966), self.rng.randint(1, 12), self.rng.randint(1, 28)),
                precision="exact",
                categories=["woman"],
                status="resettled",
            )
            if orphans or index % 2 == 0
            else None
        )
        mother = (
            None
            if orphans
            else self.person(
                sex="female",
                given=self.rng.choice(FEMALE),
                surname=surname[1],
                surname_latin=surname[3],
                born=date(self.rng.randint(1988, 1996), self.rng.randint(1, 12), self.rng.randint(1, 28)),
                precision="exact",
                categories=["woman"],
                status="returned",
                place_abroad="Shymkent",
            )
        )
        members = [p for p in (mother, grandparent, *children) if p is not None]
        for member in members:
            cases.add_person(self.db, self.staff["admin"], case, member.id)
        acting = self.staff[lawyer]
        records = {c.id: self.foreign_birth_record(c) for c in children}
        for child in children:
            if mother is not None:
                self.relationship(acting, child, mother, "biological_mother")
            if grandparent is not None:
                self.relationship(acting, child, grandparent, "grandparent")
        self.relationship(acting, children[1], children[0], "sibling", RelationshipStatus.CLAIMED)
        if orphans and grandparent is not None:
            self.relationship(acting, children[0], grandparent, "guardian", RelationshipStatus.COURT_ESTABLISHED)
        for child in children:
            self.restore(child, "birth_record", "born_abroad", records[child.id], mother)
        if mother is None:
            self.restore(children[0], "passport", "never_issued", records[children[0].id])
        else:
            identity = self.upload(
                self.staff["clerk2"],
                mother,
                "consent_receipt",
                "Voluntary return receipt",
                scan("VOLUNTARY RETURN RECEIPT", [f"Returnee: {mother.registry_number}"]),
                "receipt.png",
            )
            self.restore(mother, "identity_document", self.rng.choice(("lost", "confiscated")), identity)


def _staff(db: Session) -> tuple[dict[str, User], list[dict[str, Any]]]:
    """The demo staff, created on the first run; later runs reuse them (their passwords are not shown again)."""
    users: dict[str, User] = {}
    report = []
    counters: Counter = Counter()
    for username, full_name, role in STAFF:
        existing = db.scalar(sa.select(User).where(User.username == username))
        password = None
        if existing is None:
            password = secrets.token_urlsafe(12)
            existing = accounts.create_user(
                db, SYSTEM, username=username, full_name=full_name, password=password, roles={role}
            )
        counters[role] += 1
        key = f"{role.value}{counters[role]}" if role in (Role.CLERK, Role.LAWYER) else role.value
        users[key] = existing
        report.append({"username": username, "full_name": full_name, "role": role.value, "password": password})
    return users, report


def build_demo(
    db: Session, store: EncryptedStore, copies: ViewingCopies, *, families: int = 12, seed: int | None = None
) -> dict[str, Any]:
    """Create staff of every role and ``families`` synthetic families; the caller commits, and the
    viewing copies are made once it has (``copies``).

    Returns the staff (with first-run passwords) and counts by kind and status.
    """
    users, staff_report = _staff(db)
    actors = {key: Actor(user, user_agent="registry-demo", via="cli") for key, user in users.items()}
    policy = documents.UploadPolicy(
        max_bytes=20 * 1024 * 1024, workdir=copies.policy.workdir, retention=timedelta(days=3650), copies=copies
    )
    builder = _Builder(db, store, policy, Random(seed), actors, users, secrets.token_hex(3).upper())
    for index in range(families):
        builder.family(index)
    db.flush()
    counts = dict(builder.counts)
    return {
        "staff": staff_report,
        "families": families,
        "cases": counts.get("cases", 0),
        "persons": counts.get("persons", 0),
        "documents": counts.get("documents", 0),
        "relationships": {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("relationship:")},
        "restorations": {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("restoration:")},
    }
