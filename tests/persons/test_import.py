"""Bulk import of persons from CSV through the ``persons import`` command: every row is
checked first, a report names each bad cell, and either every person is registered,
findable like one registered by hand, or none is."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from registry.audit.events import Action
from registry.audit.models import AuditEvent
from registry.persons import importer
from registry.persons.cli import persons
from registry.persons.models import NameSearchKey, Person

HEADER = "family_name;given_name;patronymic;family_name_latin;given_name_latin;kind_latin;sex;birth_date;categories"
ROWS = [
    "Абдирасулова;Айгерим;Сериковна;Abdurasulova;Aigerim;recorded_abroad;female;01.03.2016;child",
    "Жүсіпбеков;Нұрлан;;Zhusipbekov;Nurlan;;male;2015-11-30;child, orphan",
    "Омарова;Фатима;;;;;female;;woman",
]


@pytest.fixture
def run(app, settings, monkeypatch, tmp_path):
    """Run ``persons import`` on a file written with the given bytes, against the test registry."""
    for name in (
        "database_url",
        "storage_url",
        "instance_path",
        "master_key_file",
        "audit_signing_key_file",
        "secret_key",
    ):
        monkeypatch.setenv(f"REGISTRY_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("REGISTRY_TESTING", "true")

    def invoke(content: bytes, *options: str, name: str = "persons.csv"):
        path = tmp_path / name
        path.write_bytes(content)
        return CliRunner().invoke(persons, ["import", str(path), *options])

    return invoke


def csv_bytes(*lines: str, encoding: str = "utf-8-sig", newline: str = "\r\n") -> bytes:
    return (newline.join(lines) + newline).encode(encoding)


def person_count(db) -> int:
    count = db.scalar(sa.select(sa.func.count()).select_from(Person))
    db.rollback()  # on SQLite a reading test would otherwise hold the write lock the command needs
    return count


@dataclass
class Event:
    actor_id: str | None
    actor_name: str
    target_id: str
    person_ids: list[str]
    details: dict
    raw_details: str


def import_events(db) -> list[Event]:
    events = [
        Event(e.actor_id, e.actor_name, e.target_id, json.loads(e.person_ids), json.loads(e.details), e.details)
        for e in db.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == str(Action.PERSONS_IMPORTED)).order_by(AuditEvent.seq)
        )
    ]
    db.rollback()
    return events


def found(api, clerk, q: str) -> list[dict]:
    response = api(clerk).get("/persons", query_string={"q": q})
    assert response.status_code == 200
    return response.get_json()["persons"]


def test_an_excel_file_with_semicolons_and_a_bom_registers_every_person(run, db, api, staff):
    result = run(csv_bytes(HEADER, *ROWS))

    assert result.exit_code == 0, result.output
    assert "Imported 3 persons" in result.stdout
    clerk = staff("clerk")
    [aigerim] = found(api, clerk, "Абдирасулова")
    assert found(api, clerk, "Abdurasulova") == [aigerim]
    assert aigerim["sex"] == "female" and aigerim["birth_date"] == "2016-03-01"
    assert aigerim["categories"] == ["child"]
    assert [
        (n["family_name"], n["given_name"], n["patronymic"], n["script"], n["kind"], n["is_official"])
        for n in aigerim["names"]
    ] == [
        ("Абдирасулова", "Айгерим", "Сериковна", "cyrillic", "official", True),
        ("Abdurasulova", "Aigerim", "", "latin", "recorded_abroad", False),
    ]
    [nurlan] = found(api, clerk, "Жусипбеков Nurlan")
    assert nurlan["categories"] == ["child", "orphan"]
    assert nurlan["names"][1]["script"] == "latin" and nurlan["names"][1]["kind"] == "official"
    [fatima] = found(api, clerk, "Omarova")
    assert len(fatima["names"]) == 1 and fatima["birth_date"] is None


def test_imported_persons_get_the_search_keys_registration_gives(run, db, make_person, staff):
    by_hand = make_person(
        staff("clerk"),
        names=[
            {"family_name": "Абдирасулова", "given_name": "Айгерим", "patronymic": "Сериковна"},
            {"family_name": "Abdurasulova", "given_name": "Aigerim", "script": "latin", "kind": "recorded_abroad"},
        ],
    )
    assert run(csv_bytes(HEADER, ROWS[0])).exit_code == 0

    [imported] = [p for p in db.scalars(sa.select(Person.id)) if p != by_hand["id"]]

    def keys(person_id: str) -> list[str]:
        return sorted(db.scalars(sa.select(NameSearchKey.key).where(NameSearchKey.person_id == person_id)))

    assert keys(imported) == keys(by_hand["id"]) != []


def test_one_event_names_the_imported_persons_and_their_count(run, db):
    assert run(csv_bytes(HEADER, *ROWS)).exit_code == 0

    [event] = import_events(db)
    ids = set(db.scalars(sa.select(Person.id)))
    assert set(event.person_ids) == ids and len(ids) == 3
    assert event.details["persons"] == 3 and event.details["total"] == 3 and event.details["rejected_rows"] == 0
    assert "Абдирасулова" not in event.raw_details
    assert event.actor_name == "system"


def test_a_large_file_is_imported_in_batches_each_logged_with_its_persons(run, db):
    rows = [f"Нурланова;Дана{i};;Nurlanova;Dana{i};;female;;" for i in range(2 * importer.BATCH + 5)]

    result = run(csv_bytes(HEADER, *rows))

    assert result.exit_code == 0, result.output
    assert person_count(db) == len(rows)
    events = import_events(db)
    assert [e.details["persons"] for e in events] == [importer.BATCH, importer.BATCH, 5]
    logged = [p for e in events for p in e.person_ids]
    assert sorted(logged) == sorted(db.scalars(sa.select(Person.id)))
    assert len({e.target_id for e in events}) == 1
    assert len(set(db.scalars(sa.select(Person.registry_number)))) == len(rows)


def test_bad_rows_are_reported_by_line_and_column_and_nothing_is_imported(run, db):
    result = run(
        csv_bytes(
            HEADER,
            ROWS[0],
            "Иванова;Анна;;;;;woman;31.02.2015;",
            "Петров;;;Petrov;;alias_name;male;2016-01-01;adult",
            ";;Сергеевич;;;;male;;",
            ROWS[1],
        )
    )

    assert result.exit_code == 1
    report = result.stderr
    assert "line 3, sex: Choose one of: female, male, unknown" in report
    assert "line 3, birth_date: Write the date as YYYY-MM-DD." in report
    assert "line 4, kind_latin: Choose one of:" in report
    assert "line 4, categories: Choose one of:" in report
    assert "line 5, family_name: Each name needs a family name or a given name." in report
    assert "line 2" not in report and "line 6" not in report
    assert "3 of 5 rows have problems; nothing was imported" in report
    assert person_count(db) == 0 and import_events(db) == []


def test_skip_invalid_imports_the_good_rows_and_reports_the_others(run, db):
    result = run(csv_bytes(HEADER, ROWS[0], "Иванова;Анна;;;;;woman;;", ROWS[1]), "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "line 3, sex: Choose one of" in result.stderr
    assert "Imported 2 persons" in result.stdout and "1 rows with problems skipped" in result.stdout
    assert person_count(db) == 2
    [event] = import_events(db)
    assert event.details["rejected_rows"] == 1


def test_a_header_with_an_unknown_column_refuses_the_whole_file(run, db):
    result = run(csv_bytes("family_name;given_name;birthdate", "Омарова;Фатима;2016-01-01"), "--skip-invalid")

    assert result.exit_code == 1
    assert "line 1, birthdate: Unknown column." in result.stderr
    assert person_count(db) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (csv_bytes("family_name;given_name"), "The file has a header line but no persons."),
        ("family_name\nИванова\n".encode("cp1251")[:-3] + b"\x98\n", "cannot be read as UTF-8 or Windows-1251"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a text CSV file."),
    ],
)
def test_a_file_that_is_not_a_list_of_persons_is_refused_with_a_message(run, db, content, message):
    result = run(content)

    assert result.exit_code == 1
    assert message in result.stderr
    assert person_count(db) == 0


def test_a_header_without_a_name_column_is_refused(run, db):
    result = run(csv_bytes("sex;birth_date", "female;2016-01-01"))

    assert result.exit_code == 1
    assert "Add a family_name or given_name column." in result.stderr
    assert person_count(db) == 0


def test_the_unsuffixed_name_is_the_official_one_wherever_its_columns_are(run, api, staff):
    result = run(
        csv_bytes("family_name_latin;given_name_latin;family_name;given_name", "Omarova;Fatima;Омарова;Фатима")
    )

    assert result.exit_code == 0, result.output
    [fatima] = found(api, staff("clerk"), "Omarova Fatima")
    assert [(n["family_name"], n["script"], n["is_official"]) for n in fatima["names"]] == [
        ("Омарова", "cyrillic", True),
        ("Omarova", "latin", False),
    ]


def test_a_russian_windows_1251_file_with_commas_is_read(run, db, api, staff):
    content = csv_bytes("Family name,Given name,Patronymic,Sex", "Иванова,Анна,Петровна,female", encoding="cp1251")

    result = run(content)

    assert result.exit_code == 0, result.output
    assert "cp1251" in result.stdout
    [anna] = found(api, staff("clerk"), "Ivanova Anna")
    assert anna["names"][0]["patronymic"] == "Петровна"


def test_a_utf16_tab_separated_file_from_excel_is_read(run, db, api, staff):
    content = csv_bytes(
        "family_name\tgiven_name\tfamily_name_arabic\tgiven_name_arabic",
        "Юсупов\tИбрахим\tعبدالله\tإبراهيم",
        encoding="utf-16",
    )

    result = run(content)

    assert result.exit_code == 0, result.output
    [ibrahim] = found(api, staff("clerk"), "إبراهيم")
    arabic = ibrahim["names"][1]
    assert (arabic["family_name"], arabic["given_name"], arabic["script"]) == ("عبدالله", "إبراهيم", "arabic")


def test_quoted_values_with_line_breaks_keep_report_lines_true(run, db):
    content = csv_bytes(
        "family_name,given_name,place_of_birth_recorded",
        'Омарова,Фатима,"Raqqa,',
        'camp al-Hol"',
        "Омарова,Фатима,Raqqa,extra cell",
        ",,",
    )

    result = run(content)

    assert result.exit_code == 1
    assert "line 4: This line has 4 cells but the header has 3." in result.stderr
    assert "line 2" not in result.stderr and "line 5" not in result.stderr  # an empty row is no person


def test_the_import_can_be_logged_under_a_clerk_but_not_a_lawyer(run, db, staff):
    clerk, lawyer = staff("clerk"), staff("lawyer")

    refused = run(csv_bytes(HEADER, ROWS[0]), "--as", lawyer.username)
    assert refused.exit_code == 1 and "may not import persons" in refused.output
    assert person_count(db) == 0

    assert run(csv_bytes(HEADER, ROWS[0]), "--as", clerk.username).exit_code == 0
    [event] = import_events(db)
    assert event.actor_id == clerk.id


def test_a_failure_in_a_later_batch_leaves_no_person_and_no_event(run, db, monkeypatch):
    insert_batch, calls = importer._insert_batch, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return insert_batch(*args, **kwargs)

    monkeypatch.setattr(importer, "_insert_batch", failing)
    rows = [f"Нурланова;Дана{i};;;;;female;;" for i in range(importer.BATCH + 1)]

    result = run(csv_bytes(HEADER, *rows))

    assert result.exit_code != 0 and len(calls) == 2
    assert person_count(db) == 0 and import_events(db) == []
