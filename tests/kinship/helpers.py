"""What the kinship and restoration tests share: small generated scans, uploads, a web sign-in."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from PIL import Image, ImageDraw

from registry.accounts.models import User
from registry.audit.service import SYSTEM
from registry.cases import service as cases
from registry.cases.models import Case
from tests.conftest import PASSWORD, ApiClient, Staff


def scan(text: str, fmt: str = "PNG") -> bytes:
    page = Image.new("RGB", (200, 120), "white")
    ImageDraw.Draw(page).text((10, 10), text, fill="black")
    out = io.BytesIO()
    page.save(out, fmt)
    return out.getvalue()


def upload(
    client: ApiClient, person_id: str, kind: str, title: str = "", role: str = "subject", content: bytes | None = None
) -> dict:
    content = content or scan(f"{kind} {title}")
    response = client.post(
        f"/persons/{person_id}/documents",
        data={
            "kind": kind,
            "title": title or kind.replace("_", " "),
            "role": role,
            "file": (io.BytesIO(content), f"{kind}.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["document"]


def rewrite_zip(source, target, change: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> None:
    """Copy a ZIP, replacing (or with None dropping) some entries, adding others: what a forger would do."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = change.get(item.filename, old.read(item.filename))
            if data is not None:
                new.writestr(item.filename, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)


def link(client: ApiClient, document_id: str, person_id: str, role: str) -> None:
    response = client.post(f"/documents/{document_id}/persons", json={"person_id": person_id, "role": role})
    assert response.status_code == 201, response.get_json()


def genomic_fields(conclusion: str = "inclusion") -> dict:
    """A realistic autosomal duo: an inclusion far above the policy, an exclusion on six inconsistent loci."""
    inclusion = conclusion == "inclusion"
    return {
        "laboratory": "Central Forensic Genetics Laboratory",
        "accreditation": "ISO/IEC 17025, KZ.T.02.0001",
        "accredited_iso17025": True,
        "accredited_until": "2030-12-31",
        "method": "autosomal_str",
        "loci_tested": 24,
        "inconsistent_loci": 0 if inclusion else 6,
        "combined_relationship_index": "2150000" if inclusion else "0",
        "probability_of_relatedness": "99.9999" if inclusion else "0",
        "conclusion": conclusion,
        "collected_by": "Nurse A.",
        "collected_on": "2024-05-02",
        "collected_where": "Aktau rehabilitation centre",
        "seal_numbers": ["S-100200", "S-100201"],
        "cost": "85000.50",
        "cost_currency": "KZT",
        "cost_covered_by": "state",
    }


def genomic_document(client: ApiClient, child_id: str, relative_id: str | None, conclusion: str | None) -> dict:
    """A genomic result naming the child (and the relative, when given), with its findings recorded."""
    document = upload(client, child_id, "genomic_test_result", "Genomic examination", role="child")
    if relative_id:
        link(client, document["id"], relative_id, "alleged_parent")
    if conclusion:
        response = client.post(f"/documents/{document['id']}/genomic-result", json=genomic_fields(conclusion))
        assert response.status_code == 201, response.get_json()
    return document


def ruling_document(client: ApiClient, person_id: str, relative_id: str, relationship_ids: list[str]) -> dict:
    document = upload(client, person_id, "court_ruling", "Ruling 2-1234/2024", role="child")
    link(client, document["id"], relative_id, "alleged_parent")
    if relationship_ids:
        response = client.post(
            f"/documents/{document['id']}/court-ruling",
            json={
                "court": "Specialised inter-district court",
                "case_number": "2-1234/2024",
                "ruling_date": "2024-06-01",
                "decision": "Kinship established.",
                "appeal_status": "final",
                "relationship_ids": relationship_ids,
            },
        )
        assert response.status_code == 201, response.get_json()
    return document


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def web_login(app, member: Staff):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": member.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@dataclass
class Family:
    clerk: Staff
    lawyer: Staff
    case_id: str
    mother: dict
    child: dict


def open_case(runtime, reference: str, *, members: list[Staff] = (), person_ids: list[str] = ()) -> str:
    """A case made directly through the service (an administrator's account costs a password hash)."""
    with runtime.sessions() as db:
        case = cases.create_case(db, SYSTEM, reference=reference, title=f"Case {reference}")
        join_case(db, case.id, members=members, person_ids=person_ids)
        db.commit()
        return case.id


def join_case(db, case_id: str, *, members: list[Staff] = (), person_ids: list[str] = ()) -> None:
    case = db.get(Case, case_id)
    for member in members:
        cases.add_member(db, SYSTEM, case, db.get(User, member.id))
    for person_id in person_ids:
        cases.add_person(db, SYSTEM, case, person_id)


def claim(client, family: Family, kind: str = "biological_mother") -> dict:
    response = client.post(
        "/relationships", json={"person_id": family.child["id"], "relative_id": family.mother["id"], "kind": kind}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["relationship"]
