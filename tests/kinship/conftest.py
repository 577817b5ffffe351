from __future__ import annotations

import pytest

from tests.kinship.helpers import Family, open_case


@pytest.fixture
def family(runtime, staff, make_person) -> Family:
    """A mother and her child born abroad, both in a case the lawyer belongs to."""
    clerk, lawyer = staff("clerk"), staff("lawyer")
    mother = make_person(
        clerk,
        names=[{"family_name": "Абдирасулова", "given_name": "Мадина"}],
        sex="female",
        birth_date="1990-04-12",
        birth_date_precision="exact",
        categories=["woman"],
    )
    child = make_person(
        clerk,
        names=[
            {"family_name": "Абдирасулова", "given_name": "Айша"},
            {"family_name": "بنت أحمد", "given_name": "عائشة", "script": "arabic", "kind": "recorded_abroad"},
        ],
        birth_date="2016-03-01",
        birth_date_precision="year",
        categories=["child"],
    )
    case_id = open_case(runtime, "KZ-7", members=[lawyer], person_ids=[mother["id"], child["id"]])
    return Family(clerk, lawyer, case_id, mother, child)
