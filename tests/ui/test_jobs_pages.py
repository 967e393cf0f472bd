"""Jobs in the pages: mass updates sent to the background past the threshold, progress bars on
the list, the jobs pages (progress, counts, errors, cancel, resume, download) and the list
page's links (import, export, duplicates).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import SYSTEM_ACTOR
from engine.exchange.exporter import submit_export
from engine.jobs.service import JobContext, JobStateError, job_kind, utcnow
from engine.jobs.mass_update_job import submit_mass_update
from jobs_support import (
    actor_of, build_app, engine_of, hold_jobs, location_job, login, make_leads, versions,
)

THRESHOLD = 3


@job_kind("test_page_failure")
def failing_job(ctx: JobContext) -> None:
    raise RuntimeError("the disk is full")


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = build_app(database_url, tmp_path / "files", JOB_THRESHOLD=THRESHOLD)
    yield app
    engine_of(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return login(app, "maya")


def apply_to(client: FlaskClient, app: Flask, ids: list[int], **values: str) -> Any:
    data: dict[str, Any] = {"tab": "all", "id": versions(app, "lead", ids), "set": list(values)}
    data.update({f"value_{name}": value for name, value in values.items()})
    return client.post("/lead/mass-update/apply", data=data)


def sectors(app: Flask, ids: list[int]) -> list[str | None]:
    return [engine_of(app).records.get("lead", i)["sector"] for i in ids]


# -- mass update: in the request up to the threshold, as a job past it ------------------------------


def test_the_app_config_sets_the_threshold(app: Flask) -> None:
    assert engine_of(app).jobs.threshold == THRESHOLD


def test_a_selection_at_the_threshold_is_changed_in_the_request(app: Flask, client: FlaskClient) -> None:
    ids = make_leads(app, THRESHOLD + 2)
    response = apply_to(client, app, ids[:THRESHOLD], sector="retail")
    assert response.status_code == 200
    assert f'data-changed="{THRESHOLD}"' in response.text
    assert sectors(app, ids) == ["retail"] * THRESHOLD + [None, None]
    assert engine_of(app).jobs.list(actor_of(app, client)) == []


def test_one_record_past_the_threshold_runs_as_a_job_and_the_list_follows_it(app: Flask, client: FlaskClient) -> None:
    ids = make_leads(app, THRESHOLD + 2)
    response = apply_to(client, app, ids[: THRESHOLD + 1], sector="retail")
    assert response.status_code == 303
    assert re.fullmatch(r"/lead/\?tab=all&job=\d+", response.headers["Location"])
    job_id = location_job(response)
    job = engine_of(app).jobs.wait(job_id, timeout=60)
    assert job["state"] == "done", job["message"]
    assert (job["kind"], job["entity"], job["owner_id"]) == ("mass_update", "lead", client.user_id)
    assert job["counts"] == {"matched": THRESHOLD + 1, "changed": THRESHOLD + 1, "refused": 0}
    assert sectors(app, ids) == ["retail"] * (THRESHOLD + 1) + [None]

    page = client.get(response.headers["Location"]).text
    bar = re.search(rf'<div class="job-progress state-done" id="job-{job_id}-progress".*?</div>', page, re.S).group(0)
    assert f'<progress max="{THRESHOLD + 1}" value="{THRESHOLD + 1}"' in bar
    assert f"{THRESHOLD + 1} of {THRESHOLD + 1} (100 %)" in bar and "Done" in bar
    assert f'href="/jobs/{job_id}"' in bar
    assert 'href="/lead/?tab=all" class="button job-refresh" data-job-refresh>' in bar
    assert "jobs.js" in page


def test_all_matching_counts_the_filter_against_the_threshold(app: Flask, client: FlaskClient) -> None:
    make_leads(app, THRESHOLD, prefix="Alpha")
    make_leads(app, THRESHOLD + 1, prefix="Beta")
    at = client.post("/lead/mass-update/apply", data={"all_matching": "1", "q": "alpha", "tab": "all",
                                                     "set": "sector", "value_sector": "it"})
    assert at.status_code == 200 and f'data-matched="{THRESHOLD}"' in at.text
    past = client.post("/lead/mass-update/apply", data={"all_matching": "1", "q": "beta", "tab": "all",
                                                       "set": "sector", "value_sector": "it"})
    assert past.status_code == 303
    job = engine_of(app).jobs.wait(location_job(past), timeout=60)
    assert job["state"] == "done" and job["params"]["filter"]["q"] == ["beta"]
    assert job["counts"]["changed"] == THRESHOLD + 1


def test_the_preview_says_when_the_change_will_run_in_the_background(app: Flask, client: FlaskClient) -> None:
    ids = make_leads(app, THRESHOLD + 1)
    data = {"tab": "all", "set": "sector", "value_sector": "retail"}
    at = client.post("/lead/mass-update", data={**data, "id": versions(app, "lead", ids[:THRESHOLD])}).text
    past = client.post("/lead/mass-update", data={**data, "id": versions(app, "lead", ids)}).text
    assert 'id="background-note"' not in at
    assert f"More than {THRESHOLD} records: the change will run in the background" in past
    french = client.post("/lead/mass-update?lang=fr", data={**data, "id": versions(app, "lead", ids)}).text
    assert f"Plus de {THRESHOLD} enregistrements" in french


def test_invalid_values_past_the_threshold_are_refused_before_any_job(app: Flask, client: FlaskClient) -> None:
    ids = make_leads(app, THRESHOLD + 1)
    response = apply_to(client, app, ids, source="fax_campaign")
    assert response.status_code == 400 and "nothing was changed" in response.text
    assert engine_of(app).jobs.list(actor_of(app, client)) == []


def test_records_changed_since_the_list_are_the_jobs_errors_with_links(app: Flask, client: FlaskClient) -> None:
    ids = make_leads(app, THRESHOLD + 1)
    keys = versions(app, "lead", ids)
    engine_of(app).records.update("lead", ids[1], {"city": "Lyon"}, SYSTEM_ACTOR)
    response = client.post("/lead/mass-update/apply", data={"tab": "all", "id": keys, "set": "sector",
                                                           "value_sector": "retail"})
    job_id = location_job(response)
    job = engine_of(app).jobs.wait(job_id, timeout=60)
    assert job["counts"] == {"matched": THRESHOLD + 1, "changed": THRESHOLD, "refused": 1}
    page = client.get(f"/jobs/{job_id}").text
    rows = re.findall(r'<tr data-row="">(.*?)</tr>', page, re.S)
    assert len(rows) == 1
    assert f'<a href="/lead/{ids[1]}">Lead001' in rows[0]
    assert '<li data-count="refused"><strong>1</strong> refused</li>' in page
    assert '<li data-count="changed"><strong>3</strong> changed</li>' in page


# -- the list page ----------------------------------------------------------------------------------


def test_the_list_shows_the_users_active_jobs_on_that_entity_only(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    engine = engine_of(app)
    ids = make_leads(app, 5)
    mine = submit_mass_update(engine, "lead", ids, {"sector": "it"}, actor_of(app, client))
    other_user = login(app, "noah")
    theirs = submit_mass_update(engine, "lead", ids, {"sector": "it"}, actor_of(app, other_user))
    on_accounts = engine.jobs.submit("test_page_failure", {}, actor_of(app, client), entity="account")
    page = client.get("/lead/").text
    assert f'id="job-{mine}-progress"' in page and 'data-active="1"' in page
    assert f'id="job-{theirs}-progress"' not in page and f'id="job-{on_accounts}-progress"' not in page
    bar = re.search(rf'id="job-{mine}-progress".*?</div>', page, re.S).group(0)
    assert "<progress aria-label" in bar and "Waiting" in bar and "0 done" in bar
    assert f'data-job-progress="/jobs/{mine}/progress"' in bar
    assert "data-job-refresh hidden" in bar
    assert f'id="job-{theirs}-progress"' in other_user.get("/lead/").text
    assert f'id="job-{on_accounts}-progress"' in client.get("/account/").text


def test_a_list_without_jobs_costs_one_query_for_them_and_shows_no_bar(app: Flask, client: FlaskClient) -> None:
    make_leads(app, 2)
    page = client.get("/lead/").text
    assert "job-progress" not in page and "jobs.js" not in page
    assert '<a href="/jobs" id="jobs-link">My jobs</a>' in page


def test_someone_elses_job_named_in_the_url_is_not_shown(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    ids = make_leads(app, 2)
    theirs = submit_mass_update(engine_of(app), "lead", ids, {"sector": "it"}, actor_of(app, login(app, "zoe")))
    for asked in (str(theirs), "0", "x", "99999999999"):
        page = client.get(f"/lead/?job={asked}")
        assert page.status_code == 200 and "job-progress" not in page.text


def test_the_list_links_to_import_export_and_duplicates_as_the_roles_allow(app: Flask, client: FlaskClient) -> None:
    contacts = client.get("/contact/?f_city=Paris").text
    assert '<a class="button" href="/contact/import" id="import-link">Import</a>' in contacts
    exports = dict(re.findall(r'class="export-link" href="([^"]+)" data-format="(\w+)"', contacts))
    assert {"/contact/export.csv?f_city=Paris", "/contact/export.vcard?f_city=Paris"} <= set(exports)
    assert '<a href="/contact/duplicates" id="duplicates-link">Duplicates</a>' in contacts
    events = client.get("/event/").text
    assert "/event/export.icalendar" in events and "duplicates-link" not in events
    sales = login(app, "sam", ("sales",), team="sales_france")
    page = sales.get("/lead/").text
    assert "import-link" not in page and "/lead/export.csv" in page
    french = client.get("/contact/?lang=fr").text
    assert ">Importer</a>" in french and ">Doublons</a>" in french and ">Mes tâches</a>" in french
    assert 'href="/contact/import?lang=fr"' in french


# -- the jobs pages -----------------------------------------------------------------------------------


def test_the_jobs_page_lists_the_users_jobs_only(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    engine = engine_of(app)
    ids = make_leads(app, 2)
    mine = submit_mass_update(engine, "lead", ids, {"sector": "it"}, actor_of(app, client))
    theirs = submit_mass_update(engine, "lead", ids, {"sector": "it"}, actor_of(app, login(app, "lea")))
    engine.jobs.run(mine)
    page = client.get("/jobs").text
    assert f'<tr data-job="{mine}" data-state="done">' in page and f'data-job="{theirs}"' not in page
    row = re.search(rf'<tr data-job="{mine}".*?</tr>', page, re.S).group(0)
    assert "Mass update" in row and "Leads" in row and "Done" in row and "2 selected, 2 changed, 0 refused" in row
    french = client.get("/jobs?lang=fr").text
    assert "Tâches de fond" in french and "Modification en masse" in french and "Terminée" in french


def test_no_jobs_yet(client: FlaskClient) -> None:
    assert "You have no background job yet." in client.get("/jobs").text


def test_a_job_of_someone_else_or_unknown_is_not_found(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    theirs = submit_mass_update(engine_of(app), "lead", make_leads(app, 1), {"sector": "it"},
                                actor_of(app, login(app, "ian")))
    for path in (f"/jobs/{theirs}", f"/jobs/{theirs}/progress", f"/jobs/{theirs}/output", "/jobs/999",
                 "/jobs/99999999999"):
        assert client.get(path).status_code == 404, path
    assert client.post(f"/jobs/{theirs}/cancel").status_code == 404
    assert engine_of(app).jobs.get(theirs, SYSTEM_ACTOR)["state"] == "queued"


def test_the_progress_json_the_script_polls(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    job_id = submit_mass_update(engine_of(app), "lead", make_leads(app, 4), {"sector": "it"}, actor_of(app, client))
    queued = client.get(f"/jobs/{job_id}/progress")
    assert queued.headers["Cache-Control"] == "no-store"
    assert queued.get_json() == {"id": job_id, "state": "queued", "state_label": "Waiting", "active": True, "done": 0,
                                 "total": None, "percent": 0, "text": "0 done", "counts_text": "", "error_count": 0}
    engine_of(app).jobs.run(job_id)
    done = client.get(f"/jobs/{job_id}/progress?lang=fr").get_json()
    assert done["state"] == "done" and not done["active"] and done["percent"] == 100
    assert done["text"] == "4 sur 4 (100 %)" and done["counts_text"] == "4 sélectionnés, 4 modifiés, 0 refusés"


def test_a_running_job_page_follows_itself_and_offers_cancel(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    job_id = submit_mass_update(engine_of(app), "lead", make_leads(app, 2), {"sector": "it"}, actor_of(app, client))
    page = client.get(f"/jobs/{job_id}").text
    assert "data-reload-when-done" in page and 'id="cancel"' in page and 'id="resume"' not in page
    assert f'action="/jobs/{job_id}/cancel"' in page and 'name="csrf_token"' in page
    response = client.post(f"/jobs/{job_id}/cancel")
    assert response.status_code == 303 and response.headers["Location"] == f"/jobs/{job_id}"
    cancelled = client.get(f"/jobs/{job_id}").text
    assert 'id="job-state" data-state="cancelled">Cancelled' in cancelled and 'id="cancel"' not in cancelled
    assert engine_of(app).jobs.run(job_id) is False


def test_cancel_without_the_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    job_id = submit_mass_update(engine_of(app), "lead", make_leads(app, 1), {"sector": "it"}, actor_of(app, client))
    response = super(type(client), client).open(f"/jobs/{job_id}/cancel", method="POST")
    assert response.status_code == 403
    assert engine_of(app).jobs.get(job_id, SYSTEM_ACTOR)["state"] == "queued"


def test_a_failed_job_says_why_and_resumes(app: Flask, client: FlaskClient) -> None:
    recorder = hold_jobs(app)
    engine = engine_of(app)
    job_id = engine.jobs.submit("test_page_failure", {}, actor_of(app, client), entity="lead")
    engine.jobs.run(job_id)
    page = client.get(f"/jobs/{job_id}").text
    error_id = re.search(r"error id ([0-9a-f]{8})", engine.jobs.get(job_id, SYSTEM_ACTOR)["message"]).group(1)
    assert 'data-state="failed">Failed' in page
    assert f"The job stopped on an unexpected error (error id {error_id})" in page
    assert "RuntimeError" not in page and "the disk is full" not in page
    assert 'id="resume"' in page and 'id="cancel"' not in page
    response = client.post(f"/jobs/{job_id}/resume?lang=fr")
    assert response.status_code == 303 and response.headers["Location"] == f"/jobs/{job_id}?lang=fr"
    assert recorder.sent == [job_id, job_id]
    assert engine.jobs.get(job_id, SYSTEM_ACTOR)["state"] == "queued"


def test_resuming_a_finished_job_is_refused_with_the_reason(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    engine = engine_of(app)
    job_id = submit_mass_update(engine, "lead", make_leads(app, 1), {"sector": "it"}, actor_of(app, client))
    engine.jobs.run(job_id)
    response = client.post(f"/jobs/{job_id}/resume")
    assert response.status_code == 409
    reason = JobStateError("not_resumable", {"job": job_id, "state": "done"})
    assert reason.message("en").startswith(f"Job {job_id} is done")
    assert f'<p class="notice notice-error" role="alert">{reason.message("en")}</p>' in html.unescape(response.text)
    french = client.post(f"/jobs/{job_id}/resume?lang=fr")
    assert french.status_code == 409 and reason.message("fr") in html.unescape(french.text)


def test_an_exports_file_is_downloaded_from_its_job(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    engine = engine_of(app)
    make_leads(app, 3, prefix="Export")
    request = engine.records.list_request("lead", {"tab": ["all"]})
    job_id = submit_export(engine, "lead", request, actor_of(app, client))
    assert client.get(f"/jobs/{job_id}/output").status_code == 404
    engine.jobs.run(job_id)
    page = client.get(f"/jobs/{job_id}").text
    assert f'href="/jobs/{job_id}/output" id="download"' in page
    download = client.get(f"/jobs/{job_id}/output")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype == "text/csv"
    assert all(f"Export{i:03d}" in download.get_data(as_text=True) for i in range(3))


def test_a_mass_update_job_has_no_file_to_download(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    job_id = submit_mass_update(engine_of(app), "lead", make_leads(app, 1), {"sector": "it"}, actor_of(app, client))
    engine_of(app).jobs.run(job_id)
    assert client.get(f"/jobs/{job_id}/output").status_code == 404
    assert 'id="download"' not in client.get(f"/jobs/{job_id}").text


def test_cancelling_a_running_job_says_it_stops_after_its_chunk(app: Flask, client: FlaskClient) -> None:
    hold_jobs(app)
    engine = engine_of(app)
    job_id = submit_mass_update(engine, "lead", make_leads(app, 2), {"sector": "it"}, actor_of(app, client))
    with engine.db.begin() as conn:  # as a worker does when it takes the job
        conn.execute(engine.jobs.table.update().where(engine.jobs.table.c.id == job_id)
                     .values(state="running", heartbeat_at=utcnow()))
    client.post(f"/jobs/{job_id}/cancel")
    page = client.get(f"/jobs/{job_id}").text
    assert 'data-state="cancelling">Cancelling' in page
    assert "Cancelling: the job stops after its current chunk." in page and 'id="cancel"' not in page
