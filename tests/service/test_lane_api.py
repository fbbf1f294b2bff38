"""The API end to end over real parts: simulated vehicles from real faces, the real pipeline,
the records on SQLite, credentials in the database."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import vehicle_folders
from tests.service.conftest import make_runtime

from bioexit.clock import FakeClock
from bioexit.lane.recording import enrol_gallery
from bioexit.lanesim.scene import EPOCH
from bioexit.lanesim.writer import PORT
from bioexit.records import models as m
from bioexit.service.api import ADJUDICATION
from bioexit.service.app import create_app
from bioexit.service.auth import Role
from bioexit.service.credentials import Authenticator
from bioexit.service.runtime import Runtime
from bioexit.service.workers import BoundedWorkers

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


def submission(folder: Path, drop: str | None = None, corrupt: str | None = None) -> dict[str, object]:
    encounter = json.loads((folder / "encounter.json").read_text())
    files = []
    for frame in encounter["frames"]:
        name = frame["file"]
        if name == drop:
            continue
        data = (folder / name).read_bytes()
        if name == corrupt:
            data = data[: len(data) // 3]
        files.append(("frames", (name, data, "image/jpeg")))
    return {"files": [("encounter", ("encounter.json", json.dumps(encounter), "application/json")), *files]}


class Lane:
    def __init__(
        self, runtime: Runtime, client: TestClient, tokens: dict[str, str], folders: list[Path]
    ) -> None:
        self.runtime, self.client, self.tokens, self.folders = runtime, client, tokens, folders

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def submit(self, folder: Path, key: str | None = None, who: str = "device", **kwargs: str) -> object:
        encounter_id = json.loads((folder / "encounter.json").read_text())["encounter_id"]
        lane = json.loads((folder / "encounter.json").read_text())["lane"]
        headers = {**self.as_(who), "Idempotency-Key": key or f"key-{encounter_id}"}
        return self.client.post(
            f"/v1/lanes/{PORT}/{lane}/encounters", headers=headers, **submission(folder, **kwargs)
        )


@pytest.fixture(scope="module")
def lane(simulated_lane: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lane]:
    root = tmp_path_factory.mktemp("service")
    runtime = make_runtime(
        root, clock=FakeClock(EPOCH), service={"rate_burst": 1000, "workers": 1, "queue": 64}
    )
    enrol_gallery(simulated_lane / "gallery", runtime.store, runtime.pipeline().engine, runtime.settings)
    app = create_app(runtime.settings, runtime)
    authenticator: Authenticator = app.state.authenticator
    authenticator.add_user("olivia", PASSWORD, frozenset({Role.OFFICER}), frozenset({PORT}))
    authenticator.add_user("peter", PASSWORD, frozenset({Role.OFFICER}), frozenset({"OTHER-PORT"}))
    authenticator.add_user("sam", PASSWORD, frozenset({Role.SUPERVISOR}), all_ports=True)
    authenticator.add_user("aude", PASSWORD, frozenset({Role.AUDITOR}), all_ports=True)
    tokens = {name: authenticator.login(name, PASSWORD) for name in ("olivia", "peter", "sam", "aude")}
    tokens["device"] = authenticator.add_device("sim-lane", frozenset({PORT})).token
    tokens["other-device"] = authenticator.add_device("other-lane", frozenset({"OTHER-PORT"})).token
    with TestClient(app) as client:
        yield Lane(runtime, client, tokens, vehicle_folders(simulated_lane))
    runtime.close()


def test_fifty_parallel_submissions_of_one_vehicle_give_one_encounter(lane: Lane) -> None:
    folder = lane.folders[0]
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda _: lane.submit(folder), range(50)))
    assert {r.status_code for r in responses} == {200}, {r.status_code: r.text for r in responses}
    results = {json.dumps(r.json()["result"], sort_keys=True) for r in responses}
    departures = {tuple(r.json()["acknowledgement"]["departures"]) for r in responses}
    assert len(results) == 1 and len(departures) == 1
    with Session(lane.runtime.store.engine) as session:
        assert session.scalar(select(func.count()).select_from(m.Encounter)) == 1


def test_bad_submissions_get_clear_errors(lane: Lane) -> None:
    folder = lane.folders[1]
    encounter = json.loads((folder / "encounter.json").read_text())
    url = f"/v1/lanes/{PORT}/{encounter['lane']}/encounters"
    no_key = lane.client.post(url, headers=lane.as_("device"), **submission(folder))
    assert no_key.status_code == 422 and no_key.headers["content-type"] == "application/problem+json"
    wrong_lane = lane.client.post(
        f"/v1/lanes/{PORT}/not-this-lane/encounters",
        headers={**lane.as_("device"), "Idempotency-Key": "key-wrong-lane"},
        **submission(folder),
    )
    assert wrong_lane.status_code == 422 and "another lane" in wrong_lane.json()["detail"]
    other_port = lane.submit(folder, who="other-device")
    assert other_port.status_code == 403
    officer = lane.submit(folder, who="olivia")
    assert officer.status_code == 403
    not_multipart = lane.client.post(
        url, headers={**lane.as_("device"), "Idempotency-Key": "key-json"}, json={}
    )
    assert not_multipart.status_code == 422 and "multipart" in not_multipart.json()["detail"]
    reused = lane.submit(
        folder, key=f"key-{json.loads((lane.folders[0] / 'encounter.json').read_text())['encounter_id']}"
    )
    assert reused.status_code == 409


def test_a_corrupt_and_a_missing_frame_do_not_stop_the_vehicle(lane: Lane) -> None:
    folder = lane.folders[1]
    frames = [f["file"] for f in json.loads((folder / "encounter.json").read_text())["frames"]]
    response = lane.submit(folder, drop=frames[0], corrupt=frames[1])
    assert response.status_code == 200, response.text
    errors = {e["frame"]: e["error"] for e in response.json()["result"]["frame_errors"]}
    assert errors == {0: "MissingFrameError", 1: "TruncatedImageError"}
    assert response.json()["result"]["frames_used"] == len(frames) - 2


def test_ports_are_isolated(lane: Lane) -> None:
    assert lane.submit(lane.folders[2]).status_code == 200
    mine = lane.client.get("/v1/vehicles", headers=lane.as_("olivia")).json()
    assert mine and all(v["port"] == PORT for v in mine)
    assert lane.client.get("/v1/vehicles", headers=lane.as_("peter")).json() == []
    assert lane.client.get("/v1/reviews", headers=lane.as_("peter")).json() == []
    capture = next(o["capture_id"] for v in mine for o in v["occupants"] if o["capture_id"])
    denied = lane.client.get(f"/v1/captures/{capture}/thumbnail?purpose=curiosity", headers=lane.as_("peter"))
    assert denied.status_code == 403
    image = lane.client.get(
        f"/v1/captures/{capture}/thumbnail?purpose=lane%20monitoring", headers=lane.as_("olivia")
    )
    assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
    no_purpose = lane.client.get(f"/v1/captures/{capture}/thumbnail", headers=lane.as_("olivia"))
    assert no_purpose.status_code == 422
    # Too short for the audit log: the caller's 422 up front, not a refused audit write (503).
    weak = lane.client.get(f"/v1/captures/{capture}/thumbnail?purpose=why", headers=lane.as_("olivia"))
    assert weak.status_code == 422 and "state why" in weak.text


def test_an_officer_settles_a_no_match_and_the_departure_counts(lane: Lane) -> None:
    for folder in lane.folders:
        assert lane.submit(folder).status_code == 200
    reviews = lane.client.get("/v1/reviews", headers=lane.as_("olivia")).json()
    assert reviews, "the simulation leaves some occupants unenrolled, so some reviews wait"
    before = sum(
        r["departures"] for r in lane.client.get("/v1/departures/counts", headers=lane.as_("sam")).json()
    )
    review = lane.client.get(f"/v1/reviews/{reviews[0]['review_id']}", headers=lane.as_("olivia")).json()
    assert review["review_id"] == reviews[0]["review_id"] and isinstance(review["candidates"], list)
    # Candidates come with their document photo, read under the adjudication purpose (audited).
    assert review["candidates"] and all(c["document_photo_url"] for c in review["candidates"])
    reads_before = len(lane.runtime.store.audit.rows())
    photo = lane.client.get(review["candidates"][0]["document_photo_url"], headers=lane.as_("olivia"))
    assert photo.status_code == 200 and photo.content[:3] == b"\xff\xd8\xff"
    read = lane.runtime.store.audit.rows()[reads_before]
    assert (read["action"], read["actor"], read["purpose"]) == ("biometric_read", "olivia", ADJUDICATION)
    assert read["subject_ref"] == lane.runtime.store.ref("document", review["candidates"][0]["document_id"])
    traveller = lane.runtime.store.add_traveller("non_citizen")
    no_reason = lane.client.post(
        f"/v1/decisions/{review['review_id']}", headers=lane.as_("olivia"), json={"outcome": "confirmed"}
    )
    assert no_reason.status_code == 422
    decided = lane.client.post(
        f"/v1/decisions/{review['review_id']}",
        headers=lane.as_("olivia"),
        json={"outcome": "confirmed", "reason": "matches the passport in hand", "traveller_id": traveller},
    )
    assert decided.status_code == 200 and decided.json()["departure_id"]
    again = lane.client.post(
        f"/v1/decisions/{review['review_id']}",
        headers=lane.as_("olivia"),
        json={"outcome": "rejected", "reason": "second thoughts"},
    )
    assert again.status_code == 409
    after = sum(
        r["departures"] for r in lane.client.get("/v1/departures/counts", headers=lane.as_("sam")).json()
    )
    assert after == before + 1


def test_auditors_see_who_looked_and_why_and_nothing_raw(lane: Lane) -> None:
    assert lane.client.get("/v1/audit", headers=lane.as_("olivia")).status_code == 403
    entries = lane.client.get("/v1/audit?limit=1000", headers=lane.as_("aude")).json()
    reads = [e for e in entries if e["action"] == "biometric_read" and e["actor"] == "olivia"]
    assert reads and all(e["purpose"] for e in reads)
    numbers = [
        person["document_number"]
        for person in json.loads((lane.folders[0].parent / "gallery" / "gallery.json").read_text())[
            "people"
        ].values()
        if person.get("document_number")
    ]
    text = json.dumps(entries)
    assert numbers and not any(number in text for number in numbers)
    verified = lane.client.get("/v1/audit/verify", headers=lane.as_("aude")).json()
    assert verified["ok"] is True and verified["entries"] == len(lane.runtime.store.audit.rows())


def test_a_vehicle_past_the_decision_timeout_is_decided_on_a_retry(lane: Lane, tmp_path: Path) -> None:
    """Past the timeout the lane gets 503 + Retry-After; the work goes on and commits, and the same
    request again gets the decision (joining the running work, or replayed from the records)."""
    folder = tmp_path / "late-vehicle"
    shutil.copytree(lane.folders[3], folder)
    encounter = json.loads((folder / "encounter.json").read_text())
    encounter_id = encounter["encounter_id"] = f"{encounter['encounter_id']}.late"
    (folder / "encounter.json").write_text(json.dumps(encounter))
    settings, workers = lane.runtime.settings, lane.runtime.workers
    quick = settings.service.model_copy(update={"decision_timeout_seconds": 0.05})
    lane.runtime.settings = settings.model_copy(update={"service": quick})
    fresh_workers = lane.runtime.workers = BoundedWorkers(1, 4)  # no duration measured: none refused
    try:
        late = lane.submit(folder, key="key-late")
        assert late.status_code == 503 and late.headers["Retry-After"]
        assert late.json()["type"] == "/problems/work-timeout"
        lane.runtime.settings = settings
        decided = lane.submit(folder, key="key-late")
    finally:
        lane.runtime.settings, lane.runtime.workers = settings, workers
        fresh_workers.shutdown()
    assert decided.status_code == 200, decided.text
    assert decided.json()["acknowledgement"]["encounter_id"] == encounter_id
    with Session(lane.runtime.store.engine) as session:
        rows = session.scalars(select(m.Encounter.id).where(m.Encounter.id == encounter_id)).all()
    assert rows == [encounter_id]
