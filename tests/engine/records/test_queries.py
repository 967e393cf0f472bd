"""List queries: filters by type, search, sort, tabs, groups, pages; identifiers only from the Model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine import SYSTEM_ACTOR
from engine.records.queries import ListRequest, QueryError


@pytest.fixture
def loaded(engine, owner_id):
    rows = [
        {"name": "Alpha", "qty": 1, "price": "10", "level": "low", "tags": ["low"], "due": "2024-01-10", "do_not_call": True},
        {"name": "Bravo", "qty": 5, "price": "20.50", "level": "mid", "tags": ["mid", "high"], "due": "2024-02-10", "owner": owner_id, "do_not_call": True},
        {"name": "Charlie", "qty": 9, "price": "30", "level": "high", "tags": [], "due": "2024-03-10", "owner": owner_id, "do_not_call": True},
        {"name": "Delta_%", "qty": 50, "level": "high", "email": "d@example.org", "do_not_call": True},
    ]
    ids = engine.records.create_many("sample", rows, SYSTEM_ACTOR)
    engine.records.create_many("sample", [{"name": "Echo", "status": "done", "do_not_call": True}], SYSTEM_ACTOR)
    return ids


def names(engine, **args):
    request = engine.records.list_request("sample", {k: v if isinstance(v, list) else [v] for k, v in args.items()})
    return [r["name"] for r in engine.records.list("sample", request).rows]


def test_a_list_may_read_only_the_fields_it_shows(engine, loaded):
    full = engine.records.list("sample", ListRequest(sort=("name",)))
    narrow = engine.records.list("sample", ListRequest(sort=("name",)), fields=["qty", "name", "nonsense"])
    assert [set(row) for row in narrow.rows] == [{"id", "version", "qty", "name"}] * 4
    assert [(r["id"], r["version"], r["name"], r["qty"]) for r in narrow.rows] == [
        (r["id"], r["version"], r["name"], r["qty"]) for r in full.rows]
    assert narrow.total == full.total


def test_default_is_the_open_tab_sorted_as_the_view_says(engine, loaded):
    assert set(names(engine)) == {"Alpha", "Bravo", "Charlie", "Delta_%"}
    assert names(engine, tab="history") == ["Echo"]
    assert len(names(engine, tab="all")) == 5


@pytest.mark.parametrize(
    "args, expected",
    [
        ({"f_level": ["mid", "high"]}, ["Bravo", "Charlie", "Delta_%"]),
        ({"f_qty_min": "5", "f_qty_max": "9"}, ["Bravo", "Charlie"]),
        ({"f_qty_min": "9"}, ["Charlie", "Delta_%"]),
        ({"f_price_max": "20.50"}, ["Alpha", "Bravo"]),
        ({"f_due_min": "2024-02-01", "f_due_max": "2024-03-10"}, ["Bravo", "Charlie"]),
        ({"f_name": "ar"}, ["Charlie"]),
        ({"f_name": "_%"}, ["Delta_%"]),
        ({"f_tags": ["high"]}, ["Bravo"]),
        ({"f_do_not_call": "true"}, ["Alpha", "Bravo", "Charlie", "Delta_%"]),
        ({"f_do_not_call": "false"}, []),
        ({"q": "example.org"}, []),
        ({"q": "a"}, ["Alpha", "Bravo", "Charlie", "Delta_%"]),
        ({"q": "%"}, ["Delta_%"]),
    ],
)
def test_filters_by_type(engine, loaded, args, expected):
    assert sorted(names(engine, sort="name", **args)) == expected


def test_link_filter(engine, loaded, owner_id):
    assert names(engine, sort="name", f_owner=str(owner_id)) == ["Bravo", "Charlie"]


def test_sort_both_ways_and_pages(engine, loaded):
    assert names(engine, sort="-qty") == ["Delta_%", "Charlie", "Bravo", "Alpha"]
    assert names(engine, sort="qty", size="2", page="2") == ["Charlie", "Delta_%"]
    result = engine.records.list("sample", engine.records.list_request("sample", {"size": ["3"]}))
    assert (result.total, result.pages, len(result.rows)) == (4, 2, 3)


def test_groups_count_every_matching_record(engine, loaded):
    result = engine.records.list("sample", engine.records.list_request("sample", {"group": ["level"], "size": ["1"]}))
    assert {(g.value, g.count) for g in result.groups} == {("high", 2), ("low", 1), ("mid", 1)}
    assert len(result.rows) == 1


def test_request_round_trips_through_the_url(engine, loaded):
    args = {"sort": ["-qty"], "f_level": ["mid", "high"], "f_qty_min": ["2"], "group": ["level"], "q": ["o"], "tab": ["all"]}
    request = engine.records.list_request("sample", args)
    assert engine.records.list_request("sample", request.to_args()) == request


@pytest.mark.parametrize(
    "args, parameter",
    [
        ({"sort": ["password"]}, "sort"),
        ({"sort": ["name; DROP TABLE ent_sample"]}, "sort"),
        ({"f_secret": ["x"]}, "f_secret"),
        ({"f_qty_min": ["many"]}, "f_qty_min"),
        ({"f_name_min": ["a"]}, "f_name_min"),
        ({"group": ["name"]}, "group"),
        ({"group": ["1) OR 1=1 --"]}, "group"),
        ({"tab": ["deleted"]}, "tab"),
        ({"page": ["two"]}, "page"),
        ({"view": ["nope"]}, "view"),
    ],
)
def test_bad_parameters_are_refused_by_name(engine, args, parameter):
    with pytest.raises(QueryError) as caught:
        engine.records.list_request("sample", args)
    assert caught.value.parameter == parameter


def test_values_are_bound_never_spliced(engine, loaded):
    hostile = "'; DELETE FROM ent_sample; --"
    assert names(engine, f_name=hostile, q=hostile) == []
    assert engine.records.count("sample") == 5


def test_trashed_records_are_not_listed(engine, loaded):
    engine.records.delete("sample", loaded[0], SYSTEM_ACTOR)
    assert "Alpha" not in names(engine, tab="all")


def test_empty_request_lists_page_one(engine, loaded):
    result = engine.records.list("sample", ListRequest(sort=("name",)))
    assert result.total == 4 and result.rows[0]["name"] == "Alpha"
    assert isinstance(result.rows[1]["price"], Decimal)
    assert result.rows[0]["due"] == dt.date(2024, 1, 10)


@pytest.mark.parametrize("args", [{"f_qty_min": ["99999999999999999999999"]}, {"f_price_max": ["1e999999"]}, {"f_owner": [str(2**70)]}])
def test_filter_values_beyond_storage_are_refused(engine, args):
    with pytest.raises(QueryError):
        engine.records.list_request("sample", args)


def test_huge_page_numbers_are_capped(engine, loaded):
    result = engine.records.list("sample", engine.records.list_request("sample", {"page": ["9" * 30]}))
    assert result.rows == [] and result.total == 4
