"""The evidence policy comes from the settings: a policy file overrides the defaults (a bad one stops the start),
and accreditation can be required for results used in court."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.kinship.policy import DEFAULT_POLICY, load_policy
from registry.settings import SettingsError, load_settings
from tests.conftest import error_code
from tests.kinship.helpers import claim, genomic_document, genomic_fields

POLICY = """
[biological_mother]
support_likelihood_ratio = 100
min_autosomal_loci = 12

[lineage]
mtdna_exclude_differences = 3
"""


@pytest.fixture
def settings(settings, tmp_path):
    """This module's registry reads a policy file and requires accredited laboratories for court."""
    policy = tmp_path / "kinship-policy.toml"
    policy.write_text(POLICY)
    return settings.with_overrides(kinship_policy_file=str(policy), require_accredited_laboratory=True)


def test_the_example_file_states_the_defaults():
    """config/kinship-policy.example.toml is what the README cites: it must say what the code does."""
    assert load_policy(str(Path(__file__).parents[2] / "config" / "kinship-policy.example.toml")) == DEFAULT_POLICY


def test_the_policy_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text('{"sibling": {"support_likelihood_ratio": 5000}}')
    policy = load_policy(str(path))
    assert policy.kinds["sibling"].support_likelihood_ratio == 5000
    assert policy.kinds["sibling"].min_autosomal_loci == DEFAULT_POLICY.kinds["sibling"].min_autosomal_loci
    assert policy.kinds["biological_father"] == DEFAULT_POLICY.kinds["biological_father"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("[biological_mother]\nsupport_likelihood_ratio = 'high'\n", "must be a number"),
        ("[cousin]\nmin_autosomal_loci = 20\n", "unknown sections: cousin"),
        ("[biological_father]\nexclude_inconsistent_loci = 1\n", "single inconsistency"),
        ("[sibling]\nsupport_likelihood_ratio = 1\n", "above 1"),
        ("[sibling\n", "not valid TOML"),
    ],
)
def test_a_bad_policy_file_stops_the_start(tmp_path, text, words):
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match="REGISTRY_KINSHIP_POLICY_FILE") as refused:
        load_settings({"REGISTRY_KINSHIP_POLICY_FILE": str(path)}, instance_path=str(tmp_path / "instance"))
    assert words in str(refused.value)


def _record(lawyer, family, relationship: dict, **changes) -> dict:
    document = genomic_document(lawyer, family.child["id"], family.mother["id"], None)
    lawyer.post(f"/relationships/{relationship['id']}/evidence", json={"document_id": document["id"]})
    response = lawyer.post(f"/documents/{document['id']}/genomic-result", json={**genomic_fields(), **changes})
    assert response.status_code == 201, response.get_json()
    return document


def test_the_installed_policy_decides(api, family):
    """Under this file 500 on 12 loci supports maternity, which the defaults (10,000 on 15) would not."""
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    _record(lawyer, family, relationship, loci_tested=12, combined_relationship_index="500")
    assert (
        lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]["status"]
        == "genetically_supported"
    )


def test_an_unaccredited_laboratory_moves_no_claim_towards_court(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    _record(lawyer, family, relationship, accredited_iso17025=False, accredited_until="")
    found = lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]
    assert found["status"] == "claimed"
    assert "ISO/IEC 17025" in found["genomic_assessment"]["results"][0]["reasons"][-1]
    refused = lawyer.get(f"/relationships/{relationship['id']}/bundle")
    assert refused.status_code == 409 and error_code(refused) == "laboratory_not_accredited"


def test_an_unaccredited_laboratory_excludes_no_claim_either(api, family):
    """An exclusion ends a family's claim as surely as an inclusion supports one: the same standard applies."""
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    _record(
        lawyer,
        family,
        relationship,
        accredited_iso17025=False,
        accredited_until="",
        **{
            key: genomic_fields("exclusion")[key]
            for key in ("conclusion", "inconsistent_loci", "combined_relationship_index", "probability_of_relatedness")
        },
    )
    found = lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]
    assert found["status"] == "claimed" and found["genomic_assessment"]["outcome"] != "excludes"
    assert "ISO/IEC 17025" in found["genomic_assessment"]["results"][0]["reasons"][-1]


def test_an_expired_accreditation_keeps_the_result_out_of_court(api, family):
    lawyer = api(family.lawyer)
    relationship = claim(lawyer, family)
    _record(lawyer, family, relationship, accredited_until="2024-01-31", reported_on="2024-06-01")
    assert lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]["status"] == "claimed"
    assert error_code(lawyer.get(f"/relationships/{relationship['id']}/bundle")) == "laboratory_not_accredited"
    # A valid one moves the claim and goes into the bundle.
    _record(lawyer, family, relationship, accredited_until="2030-01-31", reported_on="2024-06-01")
    assert (
        lawyer.get(f"/relationships/{relationship['id']}").get_json()["relationship"]["status"]
        == "genetically_supported"
    )
