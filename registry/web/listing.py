"""Lists of persons, documents, cases, restorations and log events: order, filters and pages, read once
from the query string and applied in SQL, the same way on pages and in the API.

A list declares what it accepts (``ListSpec``): the orders it can be sorted in and, per filter, its
choices (or free text). The query string says which (``ListQuery``): ``sort`` is a key, ``-key``
descending; each filter is its own parameter. A sort or a choice the list does not offer is refused
(422 ``validation_error`` naming the parameter, never a 500); free text is cut to ``TEXT_LIMIT``; a page
number is clamped into range and a page size bounded (a page past the last is simply empty). The
service applies the query to its own visibility query (``ordered``, ``page_of``), so a filter only
narrows what the caller may see and nothing is loaded beyond the page shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from registry.errors import validation
from registry.i18n import _

T = TypeVar("T")
MAX_PAGE = 100_000  # far past any real list; keeps OFFSET inside what every database accepts
TEXT_LIMIT = 200


@dataclass(frozen=True)
class ListSpec:
    """What one list accepts: ``sorts`` are keys (each also descending as ``-key``), ``default_sort`` is the
    order when none is asked for ("" keeps the service's own, e.g. search relevance), ``filters`` maps each
    parameter to its choices, or to None for free text."""

    sorts: tuple[str, ...]
    default_sort: str
    filters: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    default_size: int = 25
    max_size: int = 100


@dataclass(frozen=True)
class ListQuery:
    sort: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    page: int = 1
    per_page: int = 25

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def get(self, name: str) -> str:
        return self.filters.get(name, "")


@dataclass
class ListPage(Generic[T]):
    """One page of a list and where it stands: "page 2 of 7"."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _bounded(raw: Any, default: int, high: int) -> int:
    try:
        return min(high, max(1, int(raw)))
    except (TypeError, ValueError):
        return default


def _refuse(name: str, allowed: Iterable[str]):
    return validation(**{name: str(_("Choose one of: %(allowed)s", allowed=", ".join(allowed)))})


def read(args: Mapping[str, str], spec: ListSpec, *, page: int | None = None, per_page: int | None = None) -> ListQuery:
    """The list query in ``args``; ``page``/``per_page`` when the caller has read them already (the API)."""
    sort = (args.get("sort") or "").strip() or spec.default_sort
    if sort and sort.lstrip("-") not in spec.sorts:
        raise _refuse("sort", [key for s in spec.sorts for key in (s, "-" + s)])
    filters: dict[str, str] = {}
    for name, choices in spec.filters.items():
        value = " ".join((args.get(name) or "").split())[:TEXT_LIMIT]
        if value and choices is not None and value not in choices:
            raise _refuse(name, choices)
        if value:
            filters[name] = value
    return ListQuery(
        sort,
        filters,
        page if page is not None else _bounded(args.get("page"), 1, MAX_PAGE),
        per_page if per_page is not None else _bounded(args.get("per_page"), spec.default_size, spec.max_size),
    )


# A column, or an ORM model's attribute for one.
Orderable = sa.ColumnElement[Any] | InstrumentedAttribute[Any]


def ordered(
    query: sa.Select, wanted: ListQuery, columns: Mapping[str, Sequence[Orderable]], tiebreak: Orderable
) -> sa.Select:
    """``query`` in the order asked for (empty values last either way), then by ``tiebreak``, so that
    pages do not overlap or skip rows that sort equal."""
    direction = (lambda c: c.desc().nulls_last()) if wanted.descending else (lambda c: c.asc().nulls_last())
    return query.order_by(*(direction(c) for c in columns.get(wanted.sort_key, ())), tiebreak)


def count(db: Session, query: sa.Select) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0


def page_of(db: Session, query: sa.Select, wanted: ListQuery) -> ListPage:
    """The page asked for of an ordered query of entities, and how many rows match in all."""
    items = list(db.scalars(query.offset((wanted.page - 1) * wanted.per_page).limit(wanted.per_page)))
    return ListPage(items, count(db, query), wanted.page, wanted.per_page)
