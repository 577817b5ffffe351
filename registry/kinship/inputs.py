"""Cleaning typed values from a form or a JSON body: each failure names its field in plain words.

Values arrive as text from forms and as JSON values from the API; both go through
the same cleaners so a rule is never enforced in one place and forgotten in the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from registry.errors import ValidationFailed, validation
from registry.i18n import _


def choice(enum: type[StrEnum], value: Any, field: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise validation(**{field: str(_("Choose one of: %(allowed)s", allowed=allowed))}) from None


def text(value: Any, field: str, limit: int, *, required: bool = False, multiline: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise validation(**{field: str(_("This field must be text."))})
    value = value.strip() if multiline else " ".join(value.split())
    if required and not value:
        raise validation(**{field: str(_("This field is required."))})
    if len(value) > limit:
        raise validation(**{field: str(_("At most %(n)d characters.", n=limit))})
    return value


# What an allele table looks like: locus names (STR, Y-STR, X-STR, SNP ids), repeated allele pairs (12,13 or
# 9.3/10), mtDNA variants (16519C, A73G, 315.1C). The registry keeps no genotype: those stay in the laboratory's
# report, encrypted like every document.
_LOCUS = re.compile(
    r"\b(?:D\d{1,2}S\d{2,4}|TH0?1|TPOX|CSF1PO|FGA|vWA|Penta\s?[DE]|DYS\s?\d{2,4}|DXS\s?\d{2,5}|SE33|"
    r"AMEL|Amelogenin|rs\d{3,})\b",
    re.IGNORECASE,
)
_ALLELE_PAIR = re.compile(r"(?<![\w.-])\d{1,2}(?:\.\d)?\s*[,/]\s*\d{1,2}(?:\.\d)?(?![\w-])")
_MT_VARIANT = re.compile(r"\b[ACGT]?\d{2,5}(?:\.\d)?(?:[ACGT]|del|ins)\b")


def no_genotype(value: str, field: str) -> str:
    """Free text that does not carry genotypes: a locus name, or several allele pairs or mtDNA variants, is refused."""
    if _LOCUS.search(value) or len(_ALLELE_PAIR.findall(value)) >= 3 or len(_MT_VARIANT.findall(value)) >= 3:
        raise validation(
            **{
                field: str(
                    _(
                        "The registry keeps no genotypes: leave allele tables and locus types in "
                        "the laboratory's report file."
                    )
                )
            }
        )
    return value


def day(value: Any, field: str, *, required: bool = False, not_after_today: bool = True) -> date | None:
    if value in (None, ""):
        if required:
            raise validation(**{field: str(_("This field is required."))})
        return None
    try:
        parsed = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        raise validation(**{field: str(_("Write the date as YYYY-MM-DD."))}) from None
    if parsed.year < 1900 or (not_after_today and parsed > date.today()):
        raise validation(**{field: str(_("The date must be between 1900 and today."))})
    return parsed


def whole_number(value: Any, field: str, *, low: int, high: int, required: bool = False) -> int | None:
    if value in (None, ""):
        if required:
            raise validation(**{field: str(_("This field is required."))})
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise validation(**{field: str(_("Give a whole number from %(low)d to %(high)d.", low=low, high=high))})
    return number


def decimal(value: Any, field: str, *, low: Decimal, high: Decimal) -> Decimal | None:
    """A decimal number; a comma is accepted as the decimal mark, as clerks type it."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise validation(**{field: str(_("Give a number."))})
    try:
        number = Decimal(str(value).strip().replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise validation(**{field: str(_("Give a number."))}) from None
    if not number.is_finite() or not low <= number <= high:
        raise validation(**{field: str(_("Give a number from %(low)s to %(high)s.", low=low, high=high))})
    return number


def text_list(value: Any, field: str, *, limit: int, item_limit: int = 100) -> list[str]:
    """A list of short texts, from a JSON list or from one line separated by commas."""
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise validation(**{field: str(_("Give a list of texts, or one line separated by commas."))})
    cleaned = [" ".join(i.split()) for i in items if i.strip()]
    if len(cleaned) > limit or any(len(i) > item_limit for i in cleaned):
        raise validation(**{field: str(_("At most %(n)d entries of %(m)d characters.", n=limit, m=item_limit))})
    return cleaned


def flag(value: Any) -> bool:
    """A yes/no from JSON (true) or a form checkbox ("on", "yes", "1")."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"on", "yes", "true", "1"}


def gather(cleaners: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run every cleaner and report every bad field at once, so a long form is corrected in one pass."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, clean in cleaners.items():
        try:
            values[name] = clean()
        except ValidationFailed as error:
            errors.update(error.fields or {name: error.message})
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    return values
