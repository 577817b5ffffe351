"""Dates, times, numbers and sizes as the reader writes them; times in the registry's zone; a partial date
shown as partial, never with an invented day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from registry.web import labels
from tests.web.browser import quick_hashing, signed_in  # noqa: F401 (fixture)


@pytest.fixture
def in_locale(app):
    def use(locale: str):
        return app.test_request_context("/", headers={"Accept-Language": locale})

    return use


@pytest.mark.parametrize(
    "locale, expected", [("en", "1,250,000"), ("ru", "1\xa0250\xa0000"), ("kk", "1\xa0250\xa0000")]
)
def test_numbers_read_as_the_reader_writes_them(in_locale, locale, expected):
    with in_locale(locale):
        assert labels.number(1250000.0) == expected


def test_partial_dates_stay_partial(in_locale):
    born = date(2018, 9, 1)
    with in_locale("ru"):
        assert labels.partial_date(born, "year") == "2018"
        assert labels.partial_date(born, "month").startswith("сентябрь 2018")
        assert labels.partial_date(born, "exact") == "1 сентября 2018\u202fг."
        assert "1" not in labels.partial_date(born, "month").replace("2018", "")
    with in_locale("en"):
        assert labels.partial_date(born, "month") == "September 2018"
        assert labels.partial_date(None, "exact") == "date not known"


def test_times_are_shown_in_the_registry_zone_whatever_the_server_zone(in_locale, app):
    assert app.extensions["registry"].settings.time_zone == "Asia/Almaty"
    with in_locale("ru"):
        assert labels.when(datetime(2024, 3, 1, 10, 5, tzinfo=UTC)).endswith("15:05")


def test_sizes_are_human_readable(in_locale):
    with in_locale("en"):
        assert labels.filesize(50 * 1024 * 1024) == "50 MB"
        assert labels.filesize(1536) == "1.5 kB"
        assert labels.filesize(100 * 1024 * 1024) == "100 MB"
    with in_locale("ru"):
        assert labels.filesize(1288490189) == "1,2 ГБ"


@pytest.mark.usefixtures("quick_hashing")
def test_a_russian_reader_sees_a_month_and_year_birth_date_in_russian(app, staff, make_person):
    clerk = staff("clerk")
    person = make_person(clerk, birth_date="2018-09-01", birth_date_precision="month")
    browser = signed_in(app, clerk.username)
    page = browser.get(f"/persons/{person['id']}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "сентябрь 2018" in page and "2018-09-01" not in page and "1 сентября" not in page
