"""What a person's registration and change look like (the API's bodies and the person form's), and what a person
looks like to a client. The rules of a name and a field are here once; the service takes the checked model."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from registry.api.schema import Body, Line, LivedDate, Reply, Text, invalid, left_out
from registry.errors import validation
from registry.i18n import _
from registry.persons.models import Category, DatePrecision, NameKind, Person, PersonStatus, Script, Sex

MAX_NAMES = 30
MAX_CATEGORIES = 20  # there are four; repeats are allowed, a flood is not


def _words(value: Any) -> Any:
    """Categories may come as one string of words (a form's or a CSV cell's) as well as a list."""
    value = value.split() if isinstance(value, str) else value
    if isinstance(value, list) and len(value) > MAX_CATEGORIES:
        raise invalid(str(_("Too many items: at most %(n)d.", n=MAX_CATEGORIES)))
    return value


Name200 = Annotated[Line, Field(max_length=200)]


class NameIn(Body):
    """One name of a person, in one script."""

    kind: NameKind = NameKind.OFFICIAL
    script: Script = Script.CYRILLIC
    family_name: Name200 = ""
    given_name: Name200 = ""
    patronymic: Name200 = ""
    is_official: bool = False

    @model_validator(mode="after")
    def _named(self) -> NameIn:
        if not (self.family_name or self.given_name):
            raise invalid(str(_("Each name needs a family name or a given name.")))
        return self


class PersonFields(Body):
    """The fields of a person a clerk writes (restricted ones are shown only to roles that register persons)."""

    sex: Sex = Sex.UNKNOWN
    birth_date: LivedDate = Field(None, examples=["2016-03-01"])
    birth_date_precision: DatePrecision = DatePrecision.UNKNOWN
    place_of_birth_recorded: Annotated[Line, Field(max_length=300)] = ""
    place_of_birth_designation: Annotated[Line, Field(max_length=300)] = ""
    citizenship: Annotated[Line, Field(max_length=64)] = ""
    categories: Annotated[list[Category], BeforeValidator(_words)] = Field([], max_length=MAX_CATEGORIES)
    status: PersonStatus = PersonStatus.IDENTIFIED_ABROAD
    return_operation: Annotated[Line, Field(max_length=100)] = ""
    return_stage: Annotated[Line, Field(max_length=100)] = ""
    centre_or_region: Annotated[Line, Field(max_length=200)] = ""
    restricted_notes: Annotated[Text, Field(max_length=20_000)] = ""

    def changes(self) -> dict[str, Any]:
        """The fields sent, as the person's columns hold them (no date: nothing to be precise about)."""
        out: dict[str, Any] = {}
        for name in EDITABLE_FIELDS:
            if name not in self.model_fields_set:
                continue
            value = getattr(self, name)
            if name == "categories":
                value = " ".join(sorted({c.value for c in value}))
            out[name] = value.value if isinstance(value, Sex | DatePrecision | PersonStatus) else value
        if "birth_date" in out and out["birth_date"] is None:
            out["birth_date_precision"] = DatePrecision.UNKNOWN.value
        return out


EDITABLE_FIELDS = tuple(PersonFields.model_fields)


def _checked_names(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise invalid(str(_("Give at least one name.")))
    if len(value) > MAX_NAMES:
        raise invalid(str(_("At most 30 names.")))
    return value


def _one_official(names: list[NameIn]) -> list[NameIn]:
    """At most one name is the official one; without one, the first is."""
    officials = sum(n.is_official for n in names)
    if officials > 1:
        raise validation(names=str(_("Only one name can be the official one.")))
    if officials == 0:
        names[0] = names[0].model_copy(update={"is_official": True})
    return names


# One to thirty names, one of them official (the first, unless another is marked).
Names = Annotated[
    list[NameIn],
    BeforeValidator(_checked_names),
    AfterValidator(_one_official),
    Field(json_schema_extra={"minItems": 1, "maxItems": MAX_NAMES}),
]


class NameList(Body):
    """The names of a person alone (the CSV import and the matching of a draft check them apart)."""

    names: Names


class PersonCreate(PersonFields):
    """A new person: at least one name, any of the other fields."""

    names: Names

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "names": [
                        {"family_name": "Абдирасулова", "given_name": "Айгерим", "script": "cyrillic"},
                        {"family_name": "Abdirasulova", "given_name": "Aigerim", "script": "latin", "kind": "alias"},
                    ],
                    "sex": "female",
                    "birth_date": "2016-03-01",
                    "birth_date_precision": "year",
                    "categories": ["child"],
                    "status": "returned",
                }
            ]
        }
    )


class PersonChange(PersonFields):
    """A change: only the fields sent change; ``names`` replaces every name; ``revision`` refuses a lost update."""

    names: Names | SkipJsonSchema[None] = left_out()
    revision: int | SkipJsonSchema[None] = left_out(description="the revision read; another one is a 409")

    @field_validator("names", mode="before")
    @classmethod
    def _names_given(cls, value: Any) -> Any:
        return _checked_names(value)  # null is no names, not "unchanged": leave the field out for that

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"citizenship": "KZ", "status": "resettled", "revision": 3}]}
    )


# ---------------------------------------------------------------- answers


class NameOut(Reply):
    id: str
    kind: NameKind
    script: Script
    family_name: str
    given_name: str
    patronymic: str
    is_official: bool


def _absent(value: Any) -> bool:
    return value is None


class PersonOut(Reply):
    """A person as the caller may see it: the restricted fields only for roles that register persons."""

    id: str
    registry_number: str = Field(examples=["R2026-7K3M9QX"])
    sex: Sex
    birth_date: date | None
    birth_date_precision: DatePrecision
    place_of_birth_designation: str
    citizenship: str
    categories: list[Category]
    status: PersonStatus
    return_operation: str
    return_stage: str
    centre_or_region: str
    revision: int
    merged_into_id: str | None = Field(description="the record this one was merged into (same person)")
    names: list[NameOut]
    place_of_birth_recorded: str | None = Field(None, exclude_if=_absent, description="clerks only")
    restricted_notes: str | None = Field(None, exclude_if=_absent, description="clerks only")

    @classmethod
    def of(cls, person: Person, restricted: bool) -> PersonOut:
        """``restricted``: the caller may read the restricted fields (``service.sees_restricted``)."""
        return cls(
            id=person.id,
            registry_number=person.registry_number,
            sex=Sex(person.sex),
            birth_date=person.birth_date,
            birth_date_precision=DatePrecision(person.birth_date_precision),
            place_of_birth_designation=person.place_of_birth_designation,
            citizenship=person.citizenship,
            categories=[Category(c) for c in person.category_list],
            status=PersonStatus(person.status),
            return_operation=person.return_operation,
            return_stage=person.return_stage,
            centre_or_region=person.centre_or_region,
            revision=person.revision,
            merged_into_id=person.merged_into_id,
            names=[NameOut.model_validate(n) for n in person.names],
            place_of_birth_recorded=person.place_of_birth_recorded if restricted else None,
            restricted_notes=person.restricted_notes if restricted else None,
        )


class PersonReply(Reply):
    person: PersonOut


class PersonPage(Reply):
    """One page of a person list or search."""

    persons: list[PersonOut]
    total: int
    page: int
    per_page: int
    pages: int
    truncated: bool = Field(description="the search found more candidates than it ranks; narrow the query")
