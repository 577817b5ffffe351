"""Bulk import of persons from a CSV file (``registry persons import FILE``).

Lists of returnees reach the registry as spreadsheets. Every row is checked with the
same rules as the registration form before anything is written, so a file is either
imported whole or not at all (``--skip-invalid`` imports the good rows and reports
the others).

The file
--------
A header line names the columns, in any order (case and spaces do not matter:
``Family name`` is ``family_name``); then one person per line. An empty cell means
"not known" and takes the registry's default; a line of empty cells is skipped.
Unknown or repeated columns refuse the whole file (a misspelt header would otherwise
drop a column silently).

Person columns, all optional:

=============================  ===================================================
``sex``                        female, male, unknown
``birth_date``                 YYYY-MM-DD, or DD.MM.YYYY as Excel writes it in
                               Russian and Kazakh settings
``birth_date_precision``       exact, month, year, estimated, unknown (a precision
                               other than unknown needs a date)
``categories``                 child, orphan, woman, man; several separated by
                               spaces or commas
``status``                     identified_abroad, consented_to_return, returned,
                               in_rehabilitation, resettled, refused_to_return
``place_of_birth_recorded``,   text
``place_of_birth_designation``,
``citizenship``,
``return_operation``,
``return_stage``,
``centre_or_region``,
``restricted_notes``
=============================  ===================================================

Names: ``family_name``, ``given_name``, ``patronymic``, ``script`` (cyrillic, latin,
arabic; default cyrillic) and ``kind`` (birth, recorded_abroad, chosen_by_mother,
official, alias; default official) give the person's official name. Further names
use the same five columns with one suffix per name: ``family_name_latin``,
``given_name_latin``, ``kind_latin``; ``family_name_2``, ``given_name_2``,
``script_2``. A suffix that is a script name (``_latin``, ``_cyrillic``, ``_arabic``)
is that name's default script. A name whose family name, given name and patronymic
are all empty is left out; every person needs at least one name with a family or
given name. The unsuffixed name is the official one (if a row leaves it empty, the
first other name in header order).

Example (Excel, Russian settings)::

    family_name;given_name;patronymic;family_name_latin;given_name_latin;kind_latin;sex;birth_date;categories
    Абдирасулова;Айгерим;Сериковна;Abdurasulova;Aigerim;recorded_abroad;female;01.03.2016;child

Reading: UTF-8 with or without a byte-order mark, UTF-16 with one (Excel's "Unicode
text"); anything else is read as Windows-1251 (older Excel in Russian; it has no
Kazakh letters). The delimiter - comma, semicolon (Excel in Russian and Kazakh
settings) or tab - is the one the header line uses. Values may be quoted as Excel
quotes them, line breaks inside quotes included; line numbers in the report are the
lines a text editor shows.

Writing: one transaction; persons, names and search keys inserted in batches of
``BATCH`` rows with executemany. Each batch writes one access-log event
(``person.imported``) naming its persons, with the batch's count, the total, the
SHA-256 of the file and one import id shared by the batches of a file; an import of
up to ``BATCH`` persons is one event.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts.actor import Actor
from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.service import AuditSubject, record
from registry.db import new_id, utcnow
from registry.errors import Forbidden, ValidationFailed
from registry.i18n import _
from registry.matching.keys import match_keys as blocking_keys
from registry.matching.models import PersonMatchKey
from registry.persons.models import NameSearchKey, Person, PersonName, Script
from registry.persons.schemas import EDITABLE_FIELDS, NameIn
from registry.persons.service import _new_registry_number, _search_keys, clean_names, clean_person_fields

BATCH = 1000
NAME_PARTS = ("family_name", "given_name", "patronymic", "script", "kind")
_NAME_WORDS = ("family_name", "given_name", "patronymic")
_NAME_COLUMN = re.compile(r"^(family_name|given_name|patronymic|script|kind)(?:_([a-z0-9]+))?$")
_CHOICE_FIELDS = frozenset({"sex", "birth_date_precision", "status"})
_RU_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_DELIMITERS = (";", ",", "\t")

Progress = Callable[[int], None]


def _ignore(count: int) -> None:
    """No progress display."""


@dataclass(frozen=True)
class Rejection:
    """One problem, where a clerk finds it in the spreadsheet."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.message}"


class ImportRefused(ValidationFailed):
    """The file, or some of its rows, cannot be imported; nothing was written."""

    def __init__(self, message: str, rejections: list[Rejection]):
        super().__init__(message)
        self.rejections = rejections


@dataclass(frozen=True)
class NameColumns:
    """Where one name's cells are: part ("family_name", ...) -> column index."""

    suffix: str
    cells: dict[str, int]

    def column(self, part: str) -> str:
        return f"{part}_{self.suffix}" if self.suffix else part

    @property
    def default_script(self) -> str | None:
        return self.suffix if self.suffix in {s.value for s in Script} else None


@dataclass(frozen=True)
class Layout:
    """What the header says: person field -> column index, and the name column sets."""

    width: int
    fields: dict[str, int]
    names: list[NameColumns]


@dataclass
class CsvFile:
    layout: Layout
    records: list[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    sha256: str


@dataclass
class PersonRow:
    line: int
    fields: dict[str, Any]
    names: list[NameIn]


@dataclass
class CheckedRows:
    rows: int
    persons: list[PersonRow] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    sha256: str = ""

    @property
    def rejected_lines(self) -> int:
        return len({r.line for r in self.rejected})


# ---------------------------------------------------------------- reading the file


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data:
        raise ImportRefused(str(_("This is not a text CSV file.")), [])
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251"), "cp1251"


def _delimiter(header_line: str) -> str:
    return max(_DELIMITERS, key=header_line.count) if any(d in header_line for d in _DELIMITERS) else ","


def read_csv(data: bytes) -> CsvFile:
    """Decode and split the file and check its header; raises ImportRefused for a file it cannot use."""
    try:
        text, encoding = _decode(data)
    except UnicodeError:
        raise ImportRefused(
            str(_('The file cannot be read as UTF-8 or Windows-1251 text. Save it as "CSV UTF-8".')), []
        ) from None
    header_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = _delimiter(header_line)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    records = list(_records(reader))
    if not records:
        raise ImportRefused(str(_("The file is empty.")), [])
    layout = _layout(records[0][1])
    rows = records[1:]
    if not rows:
        raise ImportRefused(str(_("The file has a header line but no persons.")), [])
    return CsvFile(layout, rows, encoding, delimiter, hashlib.sha256(data).hexdigest())


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the line each starts on."""
    start = 1
    for cells in reader:
        if any(c.strip() for c in cells):
            yield start, cells
        start = reader.line_num + 1


def _header_key(cell: str) -> str:
    return re.sub(r"[\s-]+", "_", cell.strip().lower())


def _layout(header: list[str]) -> Layout:
    problems: list[Rejection] = []
    fields: dict[str, int] = {}
    names: dict[str, dict[str, int]] = {}
    seen: set[str] = set()
    for index, cell in enumerate(header):
        key = _header_key(cell)
        if key in seen:
            problems.append(Rejection(1, cell, str(_("This column appears twice."))))
            continue
        seen.add(key)
        if key in EDITABLE_FIELDS:
            fields[key] = index
        elif match := _NAME_COLUMN.match(key):
            names.setdefault(match[2] or "", {})[match[1]] = index
        else:
            problems.append(
                Rejection(
                    1,
                    cell or f"#{index + 1}",
                    str(
                        _(
                            "Unknown column. Person columns: %(fields)s; name columns: %(names)s, optionally with a "
                            "suffix such as _latin.",
                            fields=", ".join(EDITABLE_FIELDS),
                            names=", ".join(NAME_PARTS),
                        )
                    ),
                )
            )
    sets = sorted((NameColumns(suffix, cells) for suffix, cells in names.items()), key=lambda s: s.suffix != "")
    for name_set in sets:
        if not any(part in name_set.cells for part in _NAME_WORDS):
            problems.append(
                Rejection(
                    1,
                    name_set.column(next(iter(name_set.cells))),
                    str(_("This name has no family_name, given_name or patronymic column.")),
                )
            )
    if not any("family_name" in s.cells or "given_name" in s.cells for s in sets):
        problems.append(Rejection(1, "family_name", str(_("Add a family_name or given_name column."))))
    if problems:
        raise ImportRefused(str(_("The header line has problems; nothing was imported.")), problems)
    return Layout(len(header), fields, sets)


# ---------------------------------------------------------------- checking rows


def check_rows(table: CsvFile, progress: Progress = _ignore) -> CheckedRows:
    """Check every row with the registration rules; nothing is written."""
    checked = CheckedRows(rows=len(table.records), sha256=table.sha256)
    for count, (line, cells) in enumerate(table.records, 1):
        result = _check_row(table.layout, line, cells)
        if isinstance(result, PersonRow):
            checked.persons.append(result)
        else:
            checked.rejected.extend(result)
        if count % BATCH == 0 or count == checked.rows:
            progress(count % BATCH or BATCH)
    return checked


def _check_row(layout: Layout, line: int, cells: list[str]) -> PersonRow | list[Rejection]:
    if len(cells) != layout.width:
        return [
            Rejection(
                line,
                "",
                str(
                    _(
                        "This line has %(cells)d cells but the header has %(columns)d. Is a value with the delimiter "
                        "in it missing its quotes?",
                        cells=len(cells),
                        columns=layout.width,
                    )
                ),
            )
        ]
    values = [c.strip() for c in cells]
    data = _person_data(layout, values)
    items = _name_items(layout, values)
    problems: list[Rejection] = []
    try:
        fields = clean_person_fields(data)
    except ValidationFailed as error:
        problems += _field_problems(line, data, error)
    try:
        names = clean_names([item for item, _ in items])
    except ValidationFailed as error:
        problems += _name_problems(line, items, layout, error)
    return problems or PersonRow(line, fields, names)


def _person_data(layout: Layout, values: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, index in layout.fields.items():
        value = values[index]
        if name in _CHOICE_FIELDS and not value:
            continue
        if name == "birth_date" and (match := _RU_DATE.match(value)):
            value = f"{match[3]}-{int(match[2]):02d}-{int(match[1]):02d}"
        if name == "categories":
            value = value.replace(",", " ").replace(";", " ")
        data[name] = value
    return data


def _field_problems(line: int, data: dict[str, Any], whole: ValidationFailed) -> list[Rejection]:
    """Every bad cell of a rejected row, not only the first: each is checked alone."""
    problems = []
    for name, value in data.items():
        try:
            clean_person_fields({name: value})
        except ValidationFailed as one:
            problems.append(Rejection(line, name, one.fields.get(name, one.message)))
    return problems or [Rejection(line, column, message) for column, message in whole.fields.items()]


def _name_items(layout: Layout, values: list[str]) -> list[tuple[dict[str, str], NameColumns]]:
    """The names given in this row, as the service takes them, with where each came from."""
    items = []
    for name_set in layout.names:
        item = {part: values[index] for part, index in name_set.cells.items() if values[index]}
        if not any(item.get(part) for part in _NAME_WORDS):
            continue
        if "script" not in item and name_set.default_script:
            item["script"] = name_set.default_script
        items.append((item, name_set))
    return items


def _name_problems(
    line: int, items: list[tuple[dict[str, str], NameColumns]], layout: Layout, whole: ValidationFailed
) -> list[Rejection]:
    """The bad cells of each name; a problem of the names together is put on the first name."""
    problems = [problem for item, name_set in items for problem in _one_name_problems(line, item, name_set)]
    return problems or [Rejection(line, layout.names[0].column("family_name"), whole.message)]


def _one_name_problems(line: int, item: dict[str, str], name_set: NameColumns) -> list[Rejection]:
    """Which cells of one name break the rules: each is tried alone beside a valid given name."""
    try:
        clean_names([item])
        return []
    except ValidationFailed as whole:
        problems = []
        for part, value in item.items():
            try:
                clean_names([{"given_name": "x", part: value}])
            except ValidationFailed as one:
                problems.append(Rejection(line, name_set.column(part), one.message))
        return problems or [Rejection(line, name_set.column("family_name"), whole.message)]


# ---------------------------------------------------------------- writing


def import_persons(
    db: Session, who: AuditSubject, checked: CheckedRows, *, skip_invalid: bool = False, progress: Progress = _ignore
) -> list[str]:
    """Insert the checked persons in batches inside the caller's transaction; returns their ids.

    Refuses the whole file if any row was rejected, unless ``skip_invalid``.
    """
    if isinstance(who, Actor) and not who.can(Permission.PERSON_IMPORT):
        raise Forbidden(str(_("Your role cannot import persons.")))
    if checked.rejected and not skip_invalid:
        raise ImportRefused(
            str(
                _(
                    "%(bad)d of %(rows)d rows have problems; nothing was imported.",
                    bad=checked.rejected_lines,
                    rows=checked.rows,
                )
            ),
            checked.rejected,
        )
    if not checked.persons:
        raise ImportRefused(str(_("No row can be imported.")), checked.rejected)
    import_id, now, numbers = new_id(), utcnow(), set[str]()
    batches = [checked.persons[i : i + BATCH] for i in range(0, len(checked.persons), BATCH)]
    ids: list[str] = []
    for number, batch in enumerate(batches, 1):
        batch_ids = _insert_batch(db, batch, now, numbers)
        record(
            db,
            who,
            Action.PERSONS_IMPORTED,
            target_type="person_import",
            target_id=import_id,
            person_ids=batch_ids,
            details={
                "persons": len(batch_ids),
                "total": len(checked.persons),
                "batch": number,
                "batches": len(batches),
                "rejected_rows": checked.rejected_lines,
                "file_sha256": checked.sha256,
            },
        )
        ids.extend(batch_ids)
        progress(len(batch))
    return ids


_PERSON_DEFAULTS = {
    name: (column.default.arg if column.default is not None else None)
    for name, column in Person.__table__.columns.items()
    if name in EDITABLE_FIELDS
}


def _insert_batch(db: Session, batch: list[PersonRow], now: datetime, numbers: set[str]) -> list[str]:
    """Persons, names and search keys of one batch, each table in one executemany."""
    persons: list[dict[str, Any]] = []
    names: list[dict[str, Any]] = []
    keys: list[dict[str, str]] = []
    match_keys: list[dict[str, str]] = []
    for row in batch:
        person = Person(
            id=new_id(),
            registry_number=_unused_number(db, numbers),
            names=[
                PersonName(
                    id=new_id(),
                    position=i,
                    kind=n.kind,
                    script=n.script,
                    family_name=n.family_name,
                    given_name=n.given_name,
                    patronymic=n.patronymic,
                    is_official=n.is_official,
                )
                for i, n in enumerate(row.names)
            ],
        )
        persons.append(
            {
                **_PERSON_DEFAULTS,
                **row.fields,
                "id": person.id,
                "registry_number": person.registry_number,
                "created_at": now,
                "updated_at": now,
                "revision": 1,
            }
        )
        names.extend(
            {
                "id": n.id,
                "person_id": person.id,
                "position": n.position,
                "kind": n.kind,
                "script": n.script,
                "family_name": n.family_name,
                "given_name": n.given_name,
                "patronymic": n.patronymic,
                "is_official": n.is_official,
            }
            for n in person.names
        )
        keys.extend({"person_id": k.person_id, "key": k.key} for k in _search_keys(person))
        fields = {**_PERSON_DEFAULTS, **row.fields}
        match_keys.extend(
            {"person_id": person.id, "key": k}
            for k in blocking_keys(
                [(n.family_name, n.given_name, n.patronymic) for n in row.names],
                fields.get("birth_date"),
                fields.get("birth_date_precision") or "unknown",
            )
        )
    for model, rows in ((Person, persons), (PersonName, names), (NameSearchKey, keys), (PersonMatchKey, match_keys)):
        if rows:  # Core: executemany, no unit of work
            db.execute(sa.insert(cast(sa.Table, model.__table__)), rows)
    return [p["id"] for p in persons]


def _unused_number(db: Session, numbers: set[str]) -> str:
    """A registry number unused in the registry and in this import (its batches are not all inserted yet)."""
    while (number := _new_registry_number(db)) in numbers:
        continue
    numbers.add(number)
    return number
