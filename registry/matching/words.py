"""What a comparison says, in the reader's language: each field's level as a short sentence."""

from __future__ import annotations

from registry.i18n import _
from registry.matching.compare import CLOSE, DIFFERENT, EXACT, Reason

NAME = {
    "all_exact": _("The names agree: %(ours)s and %(theirs)s."),
    "all_one_close": _("The names agree in another spelling or script: %(ours)s and %(theirs)s."),
    "all_close": _("The names agree in another spelling or script: %(ours)s and %(theirs)s."),
    "given_only": _("The given name agrees, the family name differs: %(ours)s and %(theirs)s."),
    "given_no_family": _("The given name agrees; one record has no family name: %(ours)s and %(theirs)s."),
    "family_only": _("The family name agrees, the given name differs: %(ours)s and %(theirs)s."),
    "family_no_given": _("The family name agrees; one record has no given name: %(ours)s and %(theirs)s."),
    "none": _("The names differ: %(ours)s and %(theirs)s."),
}
PATRONYMIC = {
    EXACT: _("The patronymic agrees (in any of its forms)."),
    CLOSE: _("The patronymic agrees in another spelling."),
    DIFFERENT: _("The patronymics differ."),
}
SWAPPED = _("Given and family name are written the other way round.")
LEVELS = {
    "birth_date": {
        "same_day": _("Born on the same day."),
        "same_month": _("Born in the same month (one date is known only to the month)."),
        "same_year": _("Born in the same year (one date is known only to the year)."),
        "typo": _("The birth dates differ by one mistyped digit, or by day and month exchanged."),
        "adjacent_year": _("Born a year apart (dates known only to the year)."),
        "about": _("Estimated birth years within two years of each other."),
        "same_year_only": _("Born in the same year, on different days."),
        "different": _("The birth dates differ."),
        "missing": _("A birth date is missing."),
    },
    "sex": {
        "same": _("The same sex."),
        "different": _("Different sexes."),
        "missing": _("Sex not known on one record."),
    },
    "place_of_birth": {
        "same": _("The same place of birth."),
        "different": _("Different places of birth."),
        "missing": _("A place of birth is missing."),
    },
    "document_number": {"same": _("The same identity-document number.")},
    "mother": {
        "same": _("The same mother."),
        "same_mother_other_name": _("The same mother, but another given name: a brother or sister?"),
        "different": _("Different mothers are recorded."),
    },
    "child": {"shared": _("A child in common.")},
}
FIELDS = {
    "name": _("Name"),
    "birth_date": _("Date of birth"),
    "sex": _("Sex"),
    "place_of_birth": _("Place of birth for the record"),
    "document_number": _("Identity document"),
    "mother": _("Mother"),
    "child": _("Children"),
}
BANDS = {"likely": _("likely the same person"), "possible": _("possibly the same person")}


def reason_words(reason: Reason) -> str:
    if reason.field == "name":
        d = reason.detail
        words = [str(NAME[reason.level] % {"ours": d["ours"], "theirs": d["theirs"]})]
        if d.get("swapped"):
            words.append(str(SWAPPED))
        if d.get("patronymic") in PATRONYMIC:
            words.append(str(PATRONYMIC[d["patronymic"]]))
        return " ".join(words)
    return str(LEVELS.get(reason.field, {}).get(reason.level, reason.level))


def explained(reasons: list[Reason]) -> list[dict]:
    """Each field's words and whether it speaks for (weight > 0) or against the same person."""
    return [
        {
            "field": str(FIELDS.get(r.field, r.field)),
            "words": reason_words(r),
            "for": r.weight > 0,
            "against": r.weight < 0,
        }
        for r in reasons
    ]
