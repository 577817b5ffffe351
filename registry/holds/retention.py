"""The retention schedule: how long each kind of document's files are kept, read from settings.

``REGISTRY_RETENTION_YEARS="passport=75,other=25"`` changes the named kinds and keeps the defaults of the
others; a kind is kept for a whole number of years after its newest version was uploaded, or ``permanent``.
Checked once at start-up (``registry.settings``): an unknown kind, a period that is not a number, or one
shorter than the WORM lock on originals stops the process. Imports nothing of Flask or the database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from registry.documents.inspection import DOCUMENT_KINDS

PERMANENT = None
MAX_YEARS = 1000
# Why each default: README, "Legal holds and retention". Birth records, court rulings and genomic results are
# kinship evidence and the registry's reason to exist: they are never disposed of unless a setting says so.
DEFAULT_YEARS: dict[str, int | None] = {
    "birth_record": PERMANENT,
    "court_ruling": PERMANENT,
    "genomic_test_result": PERMANENT,
    "identity_document": 75,
    "passport": 75,
    "consent_receipt": 75,
    "other": 25,
}
assert set(DEFAULT_YEARS) == set(DOCUMENT_KINDS)


class RetentionError(ValueError):
    """The schedule as written cannot be used; the message says which part and why."""


def parse_schedule(text: str, worm_retention_days: int) -> dict[str, int | None]:
    """The defaults with the kinds ``text`` names changed (``kind=years`` or ``kind=permanent``, comma-separated)."""
    schedule = dict(DEFAULT_YEARS)
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        kind, sep, value = (s.strip() for s in part.partition("="))
        if not sep or kind not in DOCUMENT_KINDS:
            raise RetentionError(
                f"{part!r} must be KIND=YEARS or KIND=permanent, with KIND one of {', '.join(DOCUMENT_KINDS)}"
            )
        if value.lower() == "permanent":
            schedule[kind] = PERMANENT
            continue
        if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_YEARS:
            raise RetentionError(
                f"{kind}: {value!r} is not a whole number of years from 1 to {MAX_YEARS} (or 'permanent')"
            )
        schedule[kind] = int(value)
    for kind, years in schedule.items():
        if years is not None and years * 365 < worm_retention_days:
            raise RetentionError(
                f"{kind} would be kept {years} years, less than the {worm_retention_days} days every original is "
                "locked for (REGISTRY_WORM_RETENTION_DAYS): the store would refuse every disposal of it. Keep it "
                "longer, or lock originals for less"
            )
    return schedule


def describe(schedule: dict[str, int | None]) -> str:
    """The schedule in one line, as the signed disposal record states the rule applied."""
    return ",".join(f"{kind}={'permanent' if schedule[kind] is None else schedule[kind]}" for kind in sorted(schedule))


def years_later(moment: datetime, years: int) -> date:
    """The calendar day ``years`` after ``moment`` (UTC); 29 February falls on 28 February."""
    day = moment.astimezone(UTC).date()
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def cutoff(today: date, years: int) -> datetime:
    """A version uploaded before this moment (UTC) is past ``years`` on ``today``."""
    try:
        start = today.replace(year=today.year - years)
    except ValueError:
        start = today.replace(year=today.year - years, day=28)
    # Uploaded on day D, due on D + years: due today when D + years <= today, i.e. uploaded before the next day.
    return datetime(start.year, start.month, start.day, tzinfo=UTC) + timedelta(days=1)
