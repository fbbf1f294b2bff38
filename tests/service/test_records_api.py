"""Enrolment, document photos, 1:1 verification, 1:N search and the overstay report over the API:
real photos and specimen data pages, the real face engine, the records on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.service.conftest import make_runtime

from bioexit.lane.pipeline import LanePipeline, build_pipeline
from bioexit.records import models as m
from bioexit.service.app import create_app
from bioexit.service.auth import Role
from bioexit.service.credentials import Authenticator, MemoryCredentialStore
from bioexit.service.runtime import Runtime
from bioexit.settings import Settings

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
PURPOSE = "exit check of a traveller at the booth"
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD3_NUMBER = "L898902C3"


@cache
def _pipeline() -> LanePipeline:
    return build_pipeline(Settings())  # models load once for the module, not per app


class Api:
    def __init__(self, runtime: Runtime, client: TestClient, tokens: dict[str, str], faces: Path) -> None:
        self.runtime, self.client, self.tokens, self.faces = runtime, client, tokens, faces

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def photo(self, name: str) -> bytes:
        return (self.faces / name).read_bytes()

    def traveller(self, citizenship: str = "non_citizen", who: str = "olivia", port: str = "P1") -> str:
        response = self.client.post(
            "/v1/travellers", headers=self.as_(who), json={"citizenship": citizenship, "port": port}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["traveller_id"])

    def enrol_photo(self, traveller: str, photo: bytes, number: str, who: str = "olivia") -> object:
        return self.client.post(
            f"/v1/travellers/{traveller}/documents/photo",
            headers=self.as_(who),
            data={"port": "P1", "kind": "passport", "number": number, "issuing_state": "UTO"},
            files={"photo": ("photo.jpg", photo, "image/jpeg")},
        )

    def verify(self, photo: bytes, **fields: str) -> object:
        return self.client.post(
            "/v1/verify",
            headers=self.as_("olivia"),
            data=fields,
            files={"photo": ("probe.jpg", photo, "image/jpeg")},
        )

    def search(self, photo: bytes, who: str = "olivia", **fields: str) -> object:
        return self.client.post(
            "/v1/search",
            headers=self.as_(who),
            data=fields,
            files={"photo": ("probe.jpg", photo, "image/jpeg")},
        )

    def count(self, table: type[m.Base]) -> int:
        with Session(self.runtime.store.engine) as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)

    def audit_text(self) -> str:
        return json.dumps(self.runtime.store.audit.rows(), default=str)


@pytest.fixture
def api(tmp_path: Path, database: str | None, faces_dir: Path) -> Iterator[Api]:
    runtime = make_runtime(tmp_path, database_url=database, service={"rate_burst": 1000})
    runtime = Runtime(runtime.settings, runtime.store, lambda _settings: _pipeline(), runtime.workers)
    app = create_app(runtime.settings, runtime, credentials=MemoryCredentialStore())
    authenticator: Authenticator = app.state.authenticator
    authenticator.add_user("olivia", PASSWORD, frozenset({Role.OFFICER}), frozenset({"P1"}))
    authenticator.add_user("peter", PASSWORD, frozenset({Role.OFFICER}), frozenset({"P2"}))
    authenticator.add_user("sam", PASSWORD, frozenset({Role.SUPERVISOR}), frozenset({"P1"}))
    authenticator.add_user("aude", PASSWORD, frozenset({Role.AUDITOR}), all_ports=True)
    authenticator.add_user("ada", PASSWORD, frozenset({Role.ADMIN}), all_ports=True)
    tokens = {name: authenticator.login(name, PASSWORD) for name in ("olivia", "peter", "sam", "aude", "ada")}
    with TestClient(app) as client:
        yield Api(runtime, client, tokens, faces_dir)
    runtime.close()


def test_enrol_from_a_photo_then_verify_and_search(api: Api) -> None:
    obama = api.traveller()
    enrolled = api.enrol_photo(obama, api.photo("ageitgey/obama/obama.jpg"), "X1234567")
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert body["traveller_id"] == obama and body["source"] == "photo" and body["kind"] == "passport"
    assert body["portrait"]["usable_as_reference"] is True and "X1234567" not in enrolled.text
    biden = api.traveller()
    assert api.enrol_photo(biden, api.photo("ageitgey/biden/biden2.jpg"), "X7654321").status_code == 201

    same = api.verify(api.photo("ageitgey/obama/obama2.jpg"), purpose=PURPOSE, traveller_id=obama)
    assert same.status_code == 200, same.text
    assert same.json()["decision"] == "match" and same.json()["score"] >= same.json()["threshold"]
    assert same.json()["fmr"] == api.runtime.settings.matching.fmr
    other = api.verify(
        api.photo("ageitgey/biden/biden2.jpg"), purpose=PURPOSE, document_id=body["document_id"]
    )
    assert other.status_code == 200 and other.json()["decision"] == "no_match"
    assert other.json()["traveller_id"] == obama

    found = api.search(api.photo("ageitgey/obama/obama3.jpg"), purpose=PURPOSE)
    assert found.status_code == 200, found.text
    result = found.json()
    assert result["gallery_size"] == 2 and result["candidates"], result
    top = result["candidates"][0]
    assert top["traveller_id"] == obama and top["rank"] == 1 and top["score"] >= result["threshold"]
    assert all(c["traveller_id"] != biden for c in result["candidates"])
    photo = api.client.get(top["document_photo_url"], headers=api.as_("olivia"))
    assert photo.status_code == 200 and photo.content[:3] == b"\xff\xd8\xff"

    actions = [(r["action"], r["actor"], r["purpose"], r["outcome"]) for r in api.runtime.store.audit.rows()]
    assert ("verify_1_1", "olivia", PURPOSE, "requested") in actions
    assert ("verify_1_1", "olivia", PURPOSE, "match") in actions
    assert ("verify_1_1", "olivia", PURPOSE, "no_match") in actions
    assert ("identify_1_n", "olivia", PURPOSE, "1 candidates") in actions
    assert ("biometric_read", "olivia", PURPOSE, "granted") in actions  # the document photo
    enrolments = [r for r in api.runtime.store.audit.rows() if r["action"] == "enrolment"]
    assert [(r["actor"], r["role"], r["outcome"]) for r in enrolments] == [
        ("olivia", "officer", "enrolled")
    ] * 2
    assert enrolments[0]["subject_ref"] != body["document_id"]  # a keyed reference, not the id
    text = api.audit_text()
    assert "X1234567" not in text and "X7654321" not in text and obama not in text


def test_the_document_photo_is_sealed_at_rest(api: Api) -> None:
    traveller = api.traveller()
    photo = api.photo("ageitgey/obama/obama.jpg")
    document = api.enrol_photo(traveller, photo, "X1234567").json()["document_id"]
    with Session(api.runtime.store.engine) as session:
        blobs = session.execute(select(m.Blob).where(m.Blob.document_id == document)).scalars().all()
        assert sorted(b.kind for b in blobs) == ["image", "thumbnail"]
        assert all(b.capture_id is None for b in blobs)
        files = [api.runtime.store.blobs.read(b.path) for b in blobs]
    assert not any(data.startswith(b"\xff\xd8") or b"JFIF" in data for data in files)
    served = api.client.get(
        f"/v1/documents/{document}/image", params={"purpose": PURPOSE}, headers=api.as_("olivia")
    )
    assert served.status_code == 200 and served.content[:3] == b"\xff\xd8\xff"
    assert served.headers["cache-control"] == "no-store"
    weak = api.client.get(
        f"/v1/documents/{document}/image", params={"purpose": "n/a"}, headers=api.as_("olivia")
    )
    assert weak.status_code == 422
    assert api.client.get(f"/v1/documents/{document}/image", headers=api.as_("aude")).status_code == 403

    # Deleting the document crypto-erases and removes its portrait, template and number.
    paths = [b.path for b in blobs]
    assert api.client.delete(f"/v1/documents/{document}", headers=api.as_("olivia")).status_code == 403
    deleted = api.client.delete(
        f"/v1/documents/{document}", params={"reason": "document revoked"}, headers=api.as_("ada")
    )
    assert deleted.status_code == 204, deleted.text
    assert not any(api.runtime.store.blobs.exists(path) for path in paths)
    assert api.count(m.Document) == api.count(m.Blob) == api.count(m.StoredTemplate) == 0
    gone = api.client.get(
        f"/v1/documents/{document}/thumbnail", params={"purpose": PURPOSE}, headers=api.as_("olivia")
    )
    assert gone.status_code == 404
    assert ("deletion", "ada") in [(r["action"], r["actor"]) for r in api.runtime.store.audit.rows()]


def test_enrol_from_a_data_page(api: Api, shared_data: Path) -> None:
    traveller = api.traveller("unknown")
    page = (shared_data / "documents" / "passport-td3.jpg").read_bytes()

    def enrol(mrz: str) -> object:
        return api.client.post(
            f"/v1/travellers/{traveller}/documents/data-page",
            headers=api.as_("olivia"),
            data={"port": "P1", "mrz": mrz},
            files={"page": ("page.jpg", page, "image/jpeg")},
        )

    bad = enrol(TD3.replace("L898902C36", "L898902C35"))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"] == "/problems/m-r-z-check-digit" and "document number" in bad.json()["detail"]
    assert api.count(m.Document) == 0
    enrolled = enrol(TD3)
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert body["kind"] == "passport" and body["issuing_state"] == "UTO" and body["source"] == "data-page"
    assert body["expiry_date"] == "2012-04-15" and body["portrait"]["mrz_band"]["lines"] == 2
    assert TD3_NUMBER not in enrolled.text
    again = enrol(TD3)
    assert again.status_code == 409 and api.count(m.Document) == 1
    assert api.runtime.store.find_document(TD3_NUMBER) == (body["document_id"], traveller)


def test_an_unusable_photo_is_refused_with_the_failed_components(api: Api) -> None:
    traveller = api.traveller()
    files_before = sorted(api.runtime.store.blobs.names())
    small = api.enrol_photo(traveller, api.photo("dlib_johns/John_Salley/000183_02159543.jpg"), "X1")
    assert small.status_code == 422 and small.json()["type"] == "/problems/portrait-unusable"
    assert [f["component"] for f in small.json()["failures"]] == ["inter_eye_distance"]
    assert small.json()["flags"] == ["small-face"]
    assert api.count(m.Document) == 0 and sorted(api.runtime.store.blobs.names()) == files_before
    not_an_image = api.enrol_photo(traveller, b"not an image at all", "X2")
    assert not_an_image.status_code == 422 and api.count(m.Document) == 0
    missing = api.client.post(
        f"/v1/travellers/{traveller}/documents/photo",
        headers=api.as_("olivia"),
        data={"port": "P1", "kind": "passport", "number": "X3"},
        files={"other": ("x.jpg", b"x", "image/jpeg")},
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["body", "photo"]
    bad_kind = api.client.post(
        f"/v1/travellers/{traveller}/documents/photo",
        headers=api.as_("olivia"),
        data={"port": "P1", "kind": "library-card", "number": "X4"},
        files={"photo": ("x.jpg", api.photo("ageitgey/obama/obama.jpg"), "image/jpeg")},
    )
    assert bad_kind.status_code == 422 and api.count(m.Document) == 0
    unknown = api.enrol_photo("no-such-traveller", api.photo("ageitgey/obama/obama.jpg"), "X5")
    assert unknown.status_code == 404


def test_enrolment_roles_and_ports(api: Api) -> None:
    assert (
        api.client.post(
            "/v1/travellers", headers=api.as_("sam"), json={"citizenship": "citizen", "port": "P1"}
        ).status_code
        == 403
    )
    other_port = api.client.post(
        "/v1/travellers", headers=api.as_("peter"), json={"citizenship": "citizen", "port": "P1"}
    )
    assert other_port.status_code == 403 and "P1" in other_port.json()["detail"]
    assert api.traveller("citizen", who="ada", port="ANY")
    opt_out = api.client.post(
        "/v1/travellers",
        headers=api.as_("olivia"),
        json={"citizenship": "non_citizen", "opt_out": True, "port": "P1"},
    )
    assert opt_out.status_code == 422 and "citizens" in opt_out.json()["detail"]
    traveller = api.traveller()
    photo = api.photo("ageitgey/obama/obama.jpg")
    foreign = api.client.post(
        f"/v1/travellers/{traveller}/documents/photo",
        headers=api.as_("peter"),
        data={"port": "P1", "kind": "passport", "number": "X9"},
        files={"photo": ("photo.jpg", photo, "image/jpeg")},
    )
    assert foreign.status_code == 403 and api.count(m.Document) == 0


def test_a_search_without_a_stated_purpose_is_refused_before_anything_runs(api: Api) -> None:
    traveller = api.traveller()
    assert api.enrol_photo(traveller, api.photo("ageitgey/obama/obama.jpg"), "X1").status_code == 201
    before = len(api.runtime.store.audit.rows())
    probe = api.photo("ageitgey/obama/obama2.jpg")
    for fields in ({}, {"purpose": ""}, {"purpose": "n/a"}, {"purpose": "12345678"}):
        refused = api.search(probe, **fields)
        assert refused.status_code == 422, (fields, refused.text)
        assert refused.json()["errors"][0]["loc"] == ["body", "purpose"]
        one = api.verify(probe, traveller_id=traveller, **fields)
        assert one.status_code == 422
    neither = api.verify(probe, purpose=PURPOSE)
    assert neither.status_code == 422
    assert len(api.runtime.store.audit.rows()) == before  # nothing was searched, nothing read
    no_face = api.search(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, purpose=PURPOSE)
    assert no_face.status_code == 422
    assert api.search(probe, who="aude", purpose=PURPOSE).status_code == 403
    unknown = api.verify(probe, purpose=PURPOSE, traveller_id="nobody")
    assert unknown.status_code == 404
    not_an_id = api.verify(probe, purpose=PURPOSE, document_id="x\x00; DROP")
    assert not_an_id.status_code == 422 and not_an_id.json()["errors"][0]["loc"] == ["body", "document_id"]
    odd_path = api.client.get(
        "/v1/documents/%00x/thumbnail", params={"purpose": PURPOSE}, headers=api.as_("olivia")
    )
    assert odd_path.status_code == 422


@pytest.mark.own_database
def test_a_search_is_refused_when_the_audit_log_cannot_be_written(api: Api) -> None:
    traveller = api.traveller()
    assert api.enrol_photo(traveller, api.photo("ageitgey/obama/obama.jpg"), "X1").status_code == 201
    with api.runtime.store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE audit_entries")  # the log is gone for real
    probe = api.photo("ageitgey/obama/obama2.jpg")
    refused = api.search(probe, purpose=PURPOSE)
    assert refused.status_code == 503 and refused.json()["type"] == "/problems/audit-write"
    assert "refused" in refused.json()["detail"]
    one = api.verify(probe, purpose=PURPOSE, traveller_id=traveller)
    assert one.status_code == 503 and one.json()["type"] == "/problems/audit-write"


def test_the_overstay_report(api: Api) -> None:
    store = api.runtime.store
    stayed = store.add_traveller("non_citizen")
    store.record_entry(stayed, port="P1", admitted_on=date(2026, 1, 1), admit_until=date(2026, 1, 31))
    elsewhere = store.add_traveller("non_citizen")
    store.record_entry(elsewhere, port="P2", admitted_on=date(2026, 1, 1), admit_until=date(2026, 1, 10))
    fine = store.add_traveller("non_citizen")
    store.record_entry(fine, port="P1", admitted_on=date(2026, 1, 1), admit_until=date(2026, 6, 1))

    everywhere = api.client.get("/v1/reports/overstays?as_of=2026-03-01", headers=api.as_("aude"))
    assert everywhere.status_code == 200
    assert {(r["traveller_id"], r["status"], r["days_over"]) for r in everywhere.json()} == {
        (stayed, "present", 29),
        (elsewhere, "present", 50),
    }
    mine = api.client.get("/v1/reports/overstays?as_of=2026-03-01", headers=api.as_("sam")).json()
    assert [r["traveller_id"] for r in mine] == [stayed]  # a supervisor of P1 sees P1's entries
    as_csv = api.client.get("/v1/reports/overstays?as_of=2026-03-01&format=csv", headers=api.as_("sam"))
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0].startswith("traveller_id,entry_id,port") and len(lines) == 2 and stayed in lines[1]
    assert (
        api.client.get("/v1/reports/overstays?as_of=2026-03-01", headers=api.as_("olivia")).status_code == 403
    )
    bad = api.client.get("/v1/reports/overstays?as_of=March", headers=api.as_("aude"))
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert api.client.get("/v1/reports/overstays", headers=api.as_("aude")).status_code == 422
