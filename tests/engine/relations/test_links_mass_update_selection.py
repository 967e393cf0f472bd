"""A mass update of the records a list selects, when the list filters on a path through links
(`room.site`) or on a links characteristic (`attendees` contains): the same records as the list."""

from __future__ import annotations

from engine import SYSTEM_ACTOR

from relations_world import eng, relations_model  # noqa: F401 (fixtures)


def test_a_list_filtered_through_links_selects_the_records_updated(eng):
    create = lambda entity, values: eng.records.create(entity, values, SYSTEM_ACTOR)["id"]  # noqa: E731
    region = create("region", {"name": "North"})
    lyon, nice = (create("site", {"name": name, "region": region}) for name in ("Lyon", "Nice"))
    blue = create("room", {"name": "Blue", "site": lyon, "access_mode": "free"})
    red = create("room", {"name": "Red", "site": nice, "access_mode": "free"})
    ann, bob = (create("contact", {"first_name": name, "last_name": "X"}) for name in ("Ann", "Bob"))
    bookings = [
        create("booking", {"subject": "a", "room": blue, "attendees": [ann]}),
        create("booking", {"subject": "b", "room": blue, "attendees": [bob]}),
        create("booking", {"subject": "c", "room": red, "attendees": [ann, bob]}),
    ]
    by_site = eng.records.list_request("booking", {"f_room.site": [str(lyon)]})
    listed = [row["id"] for row in eng.records.list("booking", by_site).rows]
    assert sorted(listed) == bookings[:2]
    assert eng.records.preview_mass_update("booking", by_site, {"backup_room": red}, SYSTEM_ACTOR) == 2
    result = eng.records.mass_update("booking", by_site, {"backup_room": red}, SYSTEM_ACTOR)
    assert (result.matched, result.changed) == (2, 2)
    assert [eng.records.get("booking", i)["backup_room"] for i in bookings] == [red, red, None]
    with_ann = eng.records.list_request("booking", {"f_attendees": [str(ann)]})
    result = eng.records.mass_update("booking", with_ann, {"attendees": {"remove": [ann]}}, SYSTEM_ACTOR)
    assert (result.matched, result.changed) == (2, 2)
    assert [eng.records.get("booking", i)["attendees"] for i in bookings] == [[], [bob], [bob]]
    result = eng.records.mass_update("booking", by_site, {"attendees": {"add": [ann]}}, SYSTEM_ACTOR)
    assert (result.matched, result.changed) == (2, 2)
    assert [eng.records.get("booking", i)["attendees"] for i in bookings] == [[ann], sorted([ann, bob]), [bob]]
