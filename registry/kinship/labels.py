"""Words a clerk reads for each kind, status and finding (translated), and the colour each status has."""

from __future__ import annotations

from typing import Any

from registry.i18n import _
from registry.kinship.evidence import Finding, Strength
from registry.kinship.models import AppealStatus, Conclusion, CostCoveredBy, GenomicMethod
from registry.kinship.models import RelationshipKind as K
from registry.kinship.models import RelationshipStatus as S

KIND_LABELS: dict[str, Any] = {
    K.BIOLOGICAL_MOTHER: _("biological mother"),
    K.BIOLOGICAL_FATHER: _("biological father"),
    K.SIBLING: _("sibling"),
    K.HALF_SIBLING: _("half-sibling"),
    K.GRANDPARENT: _("grandparent"),
    K.AUNT_UNCLE: _("aunt or uncle"),
    K.GUARDIAN: _("guardian"),
}
STATUS_LABELS: dict[str, Any] = {
    S.CLAIMED: _("claimed"),
    S.TESTING: _("testing"),
    S.GENETICALLY_SUPPORTED: _("genetically supported"),
    S.COURT_ESTABLISHED: _("court established"),
    S.EXCLUDED: _("excluded"),
    S.WITHDRAWN: _("withdrawn"),
}
# (stroke colour, dash pattern): readable in greyscale print too, thanks to the dashes.
STATUS_STROKES: dict[str, tuple[str, str]] = {
    S.CLAIMED: ("#6b7280", "6 4"),
    S.TESTING: ("#b45309", "10 4"),
    S.GENETICALLY_SUPPORTED: ("#1d4ed8", ""),
    S.COURT_ESTABLISHED: ("#15803d", ""),
    S.EXCLUDED: ("#b91c1c", "2 4"),
    S.WITHDRAWN: ("#9ca3af", "2 6"),
}
METHOD_LABELS: dict[str, Any] = {
    GenomicMethod.AUTOSOMAL_STR: _("autosomal STR"),
    GenomicMethod.Y_STR: _("Y-STR"),
    GenomicMethod.MTDNA: _("mitochondrial DNA"),
}
CONCLUSION_LABELS: dict[str, Any] = {
    Conclusion.INCLUSION: _("inclusion (related)"),
    Conclusion.EXCLUSION: _("exclusion (not related)"),
    Conclusion.INCONCLUSIVE: _("inconclusive"),
}
COVERED_BY_LABELS: dict[str, Any] = {CostCoveredBy.STATE: _("the state"), CostCoveredBy.PRIVATE: _("privately")}
APPEAL_LABELS: dict[str, Any] = {
    AppealStatus.OPEN: _("appeal period running"),
    AppealStatus.APPEALED: _("appealed"),
    AppealStatus.FINAL: _("final"),
    AppealStatus.OVERTURNED: _("overturned on appeal"),
}
# The ENFSI verbal scale (Guideline for Evaluative Reporting in Forensic Science, 2015).
STRENGTH_LABELS: dict[str, Any] = {
    "weak": _("weak support"),
    "moderate": _("moderate support"),
    "moderately_strong": _("moderately strong support"),
    "strong": _("strong support"),
    "very_strong": _("very strong support"),
    "extremely_strong": _("extremely strong support"),
}
FINDING_LABELS: dict[str, Any] = {
    Finding.SUPPORTS: _("supports the claim"),
    Finding.EXCLUDES: _("excludes the claim"),
    Finding.LINEAGE_CONSISTENT: _("lineage consistent"),
    Finding.INCONCLUSIVE: _("does not decide"),
    Finding.NOT_APPLICABLE: _("does not bear on this claim"),
}
LOCALES = ("en", "ru", "kk")


def strength_words(strength: Strength | None) -> Any:
    """The likelihood ratio in words, saying which way it points."""
    if strength is None:
        return _("no likelihood ratio given")
    if strength.band == "none":
        return _("no meaningful support either way")
    if strength.favours_claim:
        return _("%(strength)s for the claimed relationship", strength=STRENGTH_LABELS[strength.band])
    return _("%(strength)s for the persons not being so related", strength=STRENGTH_LABELS[strength.band])


def in_every_locale(message: Any) -> dict[str, str]:
    """A lazily translated message in English, Russian and Kazakh (for the court bundle, read in any of them)."""
    from flask_babel import force_locale

    words = {}
    for locale in LOCALES:
        with force_locale(locale):
            words[locale] = str(message)
    return words
