"""Weighing genomic results against a claim, as a forensic geneticist would, under the evidence policy.

The laboratory's conclusion is checked against its numbers: an inclusion moves a claim only with enough
autosomal loci, no unexplained inconsistency and a likelihood ratio (combined index) at the policy's
threshold; an exclusion of parentage only on enough inconsistent loci (one or two are expected from STR
mutations). Y-STR and mtDNA show at most that two persons share a line: alone they never support a claim,
with an autosomal result their likelihood ratio multiplies its own (the markers are inherited
independently), and a mismatch beyond the mutation allowance excludes only where the line is certain (a
parent, a full sibling): a grandparent, an aunt or uncle or a half-sibling may be related through the other
parent's side, where a true relative shows exactly that mismatch. Whatever does not decide says why
and what would settle it. The registry never decides kinship: courts do, shown the strength in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from registry.i18n import _
from registry.kinship.models import Conclusion, GenomicMethod, GenomicResult
from registry.kinship.models import RelationshipKind as K
from registry.kinship.models import RelationshipStatus as S
from registry.kinship.policy import PARENTAGE, EvidencePolicy, KindPolicy
from registry.persons.models import Sex

ENFSI_SOURCE = "ENFSI Guideline for Evaluative Reporting in Forensic Science (2015)"
# Lower bound of each band of the ENFSI verbal scale (a likelihood ratio below 2 supports nothing).
ENFSI_BANDS = (
    (1_000_000, "extremely_strong"),
    (10_000, "very_strong"),
    (1_000, "strong"),
    (100, "moderately_strong"),
    (10, "moderate"),
    (2, "weak"),
)
# The kinds each lineage method can speak to: Y-STR along the paternal line, mtDNA along the maternal one.
LINEAGE_KINDS = {
    GenomicMethod.Y_STR: frozenset({K.BIOLOGICAL_FATHER, K.SIBLING, K.HALF_SIBLING, K.GRANDPARENT, K.AUNT_UNCLE}),
    GenomicMethod.MTDNA: frozenset({K.BIOLOGICAL_MOTHER, K.SIBLING, K.HALF_SIBLING, K.GRANDPARENT, K.AUNT_UNCLE}),
}
# The kinds whose relative is on that line for certain: only for them does a lineage mismatch exclude. A claim
# does not record whether a grandparent, aunt, uncle or half-sibling is on the mother's or the father's side.
CERTAIN_LINE = {
    GenomicMethod.Y_STR: frozenset({K.BIOLOGICAL_FATHER, K.SIBLING}),
    GenomicMethod.MTDNA: frozenset({K.BIOLOGICAL_MOTHER, K.SIBLING}),
}


class Finding(StrEnum):
    """What one result shows about one claim."""

    SUPPORTS = "supports"
    EXCLUDES = "excludes"
    LINEAGE_CONSISTENT = "lineage_consistent"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Strength:
    """The likelihood ratio in the ENFSI verbal scale: a band, and whether it favours the claim or its opposite."""

    band: str
    favours_claim: bool


def verbal_scale(likelihood_ratio: float | None) -> Strength | None:
    if likelihood_ratio is None:
        return None
    favours = likelihood_ratio >= 1
    ratio = likelihood_ratio if favours else (1 / likelihood_ratio if likelihood_ratio > 0 else float("inf"))
    band = next((name for low, name in ENFSI_BANDS if ratio >= low), "none")
    return Strength(band, favours)


@dataclass
class Reading:
    """One result read against one claim: its finding, strength, and why it does not decide."""

    result: GenomicResult
    finding: Finding
    reasons: list[Any] = field(default_factory=list)
    # An autosomal result that falls short only of the likelihood ratio: a lineage result may make up for it.
    short_of_ratio: bool = False
    tested: list[str] = field(default_factory=list)  # the persons typed: two (a duo) or three (a trio)

    @property
    def strength(self) -> Strength | None:
        return verbal_scale(self.result.combined_relationship_index)


@dataclass
class Assessment:
    """What a claim's genomic evidence shows together, and the status it implies (None: it does not decide)."""

    readings: list[Reading]
    implied: str | None = None
    outcome: str = ""  # supports, excludes, lineage_consistent, inconclusive, or "" (no result)
    combined_likelihood_ratio: float | None = None
    reasons: list[Any] = field(default_factory=list)
    advice: list[Any] = field(default_factory=list)

    def reading(self, document_id: str) -> Reading | None:
        return next((r for r in self.readings if r.result.document_id == document_id), None)


def impossibility(method: str, kind: str, person_sex: str, relative_sex: str) -> str | None:
    """Why this method cannot bear on this claim at all (a biological impossibility), or None."""
    if method == GenomicMethod.Y_STR:
        if kind == K.BIOLOGICAL_MOTHER:
            return str(
                _(
                    "A Y-STR test cannot bear on a mother: women have no Y chromosome. Record an autosomal "
                    "test (or mtDNA for the maternal line)."
                )
            )
        if Sex.FEMALE in (person_sex, relative_sex):
            return str(
                _(
                    "A Y-STR test compares males of one paternal line; a person of this claim is female. "
                    "Record an autosomal test."
                )
            )
    if method == GenomicMethod.MTDNA:
        if kind == K.BIOLOGICAL_FATHER:
            return str(
                _(
                    "An mtDNA test cannot bear on a father: mitochondrial DNA is inherited from the mother "
                    "only. Record an autosomal test (or Y-STR for a son)."
                )
            )
        if kind == K.GRANDPARENT and relative_sex == Sex.MALE:
            return str(
                _(
                    "An mtDNA test cannot bear on a grandfather: he does not pass on his mitochondrial DNA. "
                    "Record an autosomal test."
                )
            )
    return None


def _autosomal(result: GenomicResult, kind: str, rule: KindPolicy, trio: bool) -> Reading:
    inconsistent, ratio = result.inconsistent_loci, result.combined_relationship_index
    reading = Reading(result, Finding.INCONCLUSIVE)
    parentage = kind in PARENTAGE
    if result.conclusion == Conclusion.INCONCLUSIVE:
        reading.reasons.append(_("The laboratory concluded the test inconclusive."))
        return reading
    if result.conclusion == Conclusion.EXCLUSION:
        if trio:
            reading.reasons.append(
                _(
                    "A trio's exclusion does not say which parent is excluded: record each "
                    "parent's result, or ask the laboratory."
                )
            )
        elif parentage and inconsistent is None:
            reading.reasons.append(
                _(
                    "The laboratory gave no count of inconsistent loci; parentage is excluded on %(need)d or more.",
                    need=rule.exclude_inconsistent_loci,
                )
            )
        elif parentage and inconsistent is not None and inconsistent < rule.exclude_inconsistent_loci:
            reading.reasons.append(
                _(
                    "An exclusion on %(n)d inconsistent loci: parentage is excluded on %(need)d "
                    "or more; one or two are expected from mutations. Extended testing is "
                    "advised.",
                    n=inconsistent,
                    need=rule.exclude_inconsistent_loci,
                )
            )
        elif not parentage and (
            not rule.exclude_likelihood_ratio or ratio is None or ratio > rule.exclude_likelihood_ratio
        ):
            reading.reasons.append(
                _(
                    "For this relationship an exclusion needs a likelihood ratio of at most "
                    "%(ratio)s; inconsistent loci alone do not exclude relatives other than "
                    "parents.",
                    ratio=_number(rule.exclude_likelihood_ratio),
                )
            )
        else:
            reading.finding = Finding.EXCLUDES
        return reading
    if parentage and inconsistent and inconsistent >= rule.exclude_inconsistent_loci:
        reading.reasons.append(
            _(
                "The laboratory concluded inclusion with %(n)d inconsistent loci, enough to "
                "exclude: ask the laboratory.",
                n=inconsistent,
            )
        )
        return reading
    if parentage and inconsistent:
        reading.reasons.append(
            _(
                "%(n)d inconsistent loci: one or two may be mutations, so the result is "
                "inconclusive until extended testing.",
                n=inconsistent,
            )
        )
        return reading
    if result.loci_tested < rule.min_autosomal_loci:
        reading.reasons.append(
            _(
                "Only %(n)d autosomal loci were tested; this relationship needs at least %(need)d.",
                n=result.loci_tested,
                need=rule.min_autosomal_loci,
            )
        )
        return reading
    if ratio is None:
        reading.reasons.append(_("The laboratory gave no combined index (likelihood ratio)."))
        return reading
    if ratio < rule.support_likelihood_ratio:
        reading.reasons.append(
            _(
                "The combined index %(ratio)s is below the %(need)s this relationship needs.",
                ratio=_number(ratio),
                need=_number(rule.support_likelihood_ratio),
            )
        )
        reading.short_of_ratio = True
        return reading
    reading.finding = Finding.SUPPORTS
    return reading


def _lineage(result: GenomicResult, kind: str, policy: EvidencePolicy) -> Reading:
    allowance = policy.lineage_exclude_differences[result.method]
    differences = result.inconsistent_loci or 0
    reading = Reading(result, Finding.INCONCLUSIVE)
    if result.conclusion == Conclusion.INCONCLUSIVE:
        reading.reasons.append(_("The laboratory concluded the test inconclusive."))
    elif result.conclusion == Conclusion.EXCLUSION:
        if differences >= allowance and kind in CERTAIN_LINE[GenomicMethod(result.method)]:
            reading.finding = Finding.EXCLUDES
        elif differences >= allowance:
            reading.reasons.append(
                _(
                    "A lineage mismatch does not exclude this relative, who may be related through "
                    "the other parent's side, which this test does not follow. Record an autosomal "
                    "test."
                )
            )
        else:
            reading.reasons.append(
                _(
                    "%(n)d differing markers are within the mutation allowance; a lineage "
                    "mismatch excludes from %(need)d.",
                    n=differences,
                    need=allowance,
                )
            )
    elif differences >= allowance:
        reading.reasons.append(
            _(
                "The laboratory concluded inclusion with %(n)d differing markers, enough to "
                "exclude: ask the laboratory.",
                n=differences,
            )
        )
    else:
        reading.finding = Finding.LINEAGE_CONSISTENT
        reading.reasons.append(
            _("Lineage consistent: the persons share a line, which does not say which relative they are.")
        )
    return reading


def read_result(
    result: GenomicResult, tested: list[str], kind: str, person_ids: list[str], policy: EvidencePolicy
) -> Reading:
    if not set(person_ids) <= set(tested):
        return Reading(
            result, Finding.NOT_APPLICABLE, [_("This result did not test both persons of the claim.")], tested=tested
        )
    rule = policy.for_kind(kind)
    if rule is None or (result.lineage_only and kind not in LINEAGE_KINDS[GenomicMethod(result.method)]):
        return Reading(
            result, Finding.NOT_APPLICABLE, [_("This method cannot bear on this relationship.")], tested=tested
        )
    reading = (
        _lineage(result, kind, policy) if result.lineage_only else _autosomal(result, kind, rule, trio=len(tested) > 2)
    )
    reading.tested = tested
    if (
        (reading.finding in (Finding.SUPPORTS, Finding.EXCLUDES) or reading.short_of_ratio)
        and policy.require_accredited_laboratory
        and not result.accredited_on_report()
    ):
        reading.finding, reading.short_of_ratio = Finding.INCONCLUSIVE, False
        reading.reasons.append(
            _(
                "Results used in court must come from a laboratory with ISO/IEC 17025 "
                "accreditation valid on the report date; this one's is not recorded as such."
            )
        )
    return reading


def _advice(kind: str, readings: list[Reading]) -> list[Any]:
    advice = [_("Test more loci (an extended or SNP panel).")]
    if kind in PARENTAGE and not any(len(r.tested) > 2 for r in readings):
        advice.append(_("Test the other parent too (a trio): it makes the result far stronger."))
    advice.append(_("Test another relative of the same family."))
    return advice


def assess(
    kind: str, person_ids: list[str], results: Iterable[tuple[GenomicResult, list[str]]], policy: EvidencePolicy
) -> Assessment:
    """Every recorded result of the claim (with the persons it tested), read together."""
    readings = [read_result(result, tested, kind, person_ids, policy) for result, tested in results]
    assessment = Assessment(readings)
    applicable = [r for r in readings if r.finding != Finding.NOT_APPLICABLE]
    rule = policy.for_kind(kind)
    if not applicable or rule is None:
        return assessment
    found = {r.finding for r in applicable}
    if Finding.EXCLUDES in found and (Finding.SUPPORTS in found or Finding.LINEAGE_CONSISTENT in found):
        assessment.outcome = Finding.INCONCLUSIVE
        assessment.reasons.append(
            _("The results disagree: one excludes, another does not. Ask the laboratories; a court decides.")
        )
        return assessment
    if Finding.EXCLUDES in found:
        assessment.outcome, assessment.implied = Finding.EXCLUDES, S.EXCLUDED
        return assessment
    if Finding.SUPPORTS in found:
        best = max(
            (r for r in applicable if r.finding == Finding.SUPPORTS),
            key=lambda r: r.result.combined_relationship_index or 0,
        )
        assessment.combined_likelihood_ratio = best.result.combined_relationship_index
        assessment.outcome, assessment.implied = Finding.SUPPORTS, S.GENETICALLY_SUPPORTED
        return assessment
    short = [r for r in applicable if r.short_of_ratio]
    lineage = [r for r in applicable if r.finding == Finding.LINEAGE_CONSISTENT]
    if short and lineage:
        combined = max(r.result.combined_relationship_index or 0 for r in short)
        for method in {r.result.method for r in lineage}:  # one line per method: the same line tested twice
            combined *= max(r.result.combined_relationship_index or 1 for r in lineage if r.result.method == method)
        assessment.combined_likelihood_ratio = combined
        if combined >= rule.support_likelihood_ratio:
            assessment.outcome, assessment.implied = Finding.SUPPORTS, S.GENETICALLY_SUPPORTED
            return assessment
        assessment.reasons.append(
            _(
                "Together with the lineage result the likelihood ratio is %(ratio)s, still "
                "below the %(need)s this relationship needs.",
                ratio=_number(combined),
                need=_number(rule.support_likelihood_ratio),
            )
        )
    assessment.outcome = Finding.LINEAGE_CONSISTENT if lineage else Finding.INCONCLUSIVE
    if lineage and not short:
        assessment.reasons.append(
            _(
                "A lineage test alone cannot make a claim genetically supported: an autosomal "
                "test is needed to show which relative the person is."
            )
        )
    assessment.advice = _advice(kind, applicable)
    return assessment


def _number(value: float) -> str:
    """A ratio as a reader writes it: 10,000 or 0.001, never 1e4."""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"
