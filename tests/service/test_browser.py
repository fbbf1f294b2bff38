"""The officer UI end to end in headless Chromium (Debian's, driven by Playwright): log in,
watch a simulated vehicle arrive, settle a no-match, see the departure on the dashboard, and
check the audit chain as an auditor.

Screenshots go to $BIOEXIT_SCREENSHOTS (docs/screenshots when refreshed by hand), else tmp.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from tests.conftest import vehicle_folders
from tests.service.conftest import make_runtime

from bioexit.lane.frames import read_encounter, read_frames
from bioexit.lane.recording import enrol_gallery
from bioexit.lanesim.writer import PORT
from bioexit.service.app import create_app
from bioexit.service.auth import Role
from bioexit.service.credentials import Authenticator
from bioexit.service.demo import as_if_now
from bioexit.service.runtime import Runtime

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
CHROMIUM = os.environ.get("BIOEXIT_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        message = f"headless browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


class Server:
    def __init__(self, runtime: Runtime, url: str, authenticator: Authenticator) -> None:
        self.runtime, self.url, self.authenticator = runtime, url, authenticator

    def arrive(self, folder: Path) -> str:
        """A vehicle passes the lane now (as the lane device would submit it)."""
        runtime = self.runtime
        encounter = as_if_now(read_encounter(folder), runtime.store.clock.now(), "browser")
        loader = lambda: read_frames(folder, encounter, runtime.settings.images)  # noqa: E731
        runtime.workers.submit(lambda: runtime.process(encounter, loader)).result(timeout=300)
        return encounter.encounter_id


@pytest.fixture(scope="module")
def server(simulated_lane: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    runtime = make_runtime(tmp_path_factory.mktemp("browser"))
    enrol_gallery(simulated_lane / "gallery", runtime.store, runtime.pipeline().engine, runtime.settings)
    app = create_app(runtime.settings, runtime)
    authenticator: Authenticator = app.state.authenticator
    authenticator.add_user("olivia", PASSWORD, frozenset({Role.OFFICER}), frozenset({PORT}))
    authenticator.add_user("sam", PASSWORD, frozenset({Role.SUPERVISOR}), all_ports=True)
    authenticator.add_user("aude", PASSWORD, frozenset({Role.AUDITOR}), all_ports=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Server(runtime, f"http://127.0.0.1:{port}", authenticator)
    server.should_exit = True
    thread.join(timeout=10)
    runtime.close()


def _screenshot(page: object, path: Path) -> None:
    """Faces blurred: the screenshots go into docs/, and the faces come from ../shared."""
    page.wait_for_function("[...document.images].every((image) => image.complete)")  # type: ignore[attr-defined]
    page.add_style_tag(content="img { filter: blur(14px); }")  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]


def _shots() -> Path:
    folder = Path(
        os.environ.get("BIOEXIT_SCREENSHOTS") or Path(os.environ.get("TMPDIR", "/tmp")) / "bioexit-ui"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_officer_watches_a_vehicle_settles_a_no_match_and_sees_the_departure(
    server: Server, simulated_lane: Path, chromium: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = _shots()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        page.goto(f"{server.url}/")
        page.fill("input[name=username]", "olivia")
        page.fill("input[name=password]", "wrong password!")
        page.click("#login-form button")
        expect(page.locator("#login-error")).to_contain_text("wrong username or password")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button")
        expect(page.locator("#live-state")).to_have_text("live", timeout=15_000)

        # A vehicle arrives while the officer watches: it appears without a reload.
        arrivals = [server.arrive(folder) for folder in vehicle_folders(simulated_lane)]
        for encounter_id in arrivals:
            expect(page.locator(f'[data-encounter="{encounter_id}"]')).to_be_visible(timeout=30_000)
        expect(page.locator(".occupant img[src]").first).to_be_visible()
        _screenshot(page, shots / "lane.png")

        # Settle a no-match: confirm it as a traveller, with a reason.
        traveller = server.runtime.store.add_traveller("non_citizen")
        page.click("nav a[data-page=reviews]")
        rows = page.locator("#review-list tbody button")
        expect(rows.first).to_be_visible()
        waiting = rows.count()
        rows.first.click()
        expect(page.locator("#review-detail")).to_be_visible()
        # The capture beside the candidates' document photos, each with its score.
        photos = page.locator("#review-candidates .candidate img[src]")
        expect(photos.first).to_be_visible()
        expect(page.locator("#review-candidates figcaption").first).to_contain_text("score")
        page.wait_for_function(
            "[...document.querySelectorAll('#review-candidates img[src]')]"
            ".every((i) => i.complete && i.naturalWidth > 0)"
        )
        page.fill("#review-traveller", traveller)
        page.fill("input[name=reason]", "face matches the passport in hand")
        _screenshot(page, shots / "review.png")
        page.click("#confirm-button")
        expect(page.locator("#review-list tbody button")).to_have_count(waiting - 1)
        page.click("#logout")

        # The supervisor sees the departure counted on the dashboard.
        page.fill("input[name=username]", "sam")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button")
        page.click("nav a[data-page=dashboard]")
        expect(page.locator("#chart rect").first).to_be_visible()
        counted = sum(int(cell) for cell in page.locator("#counts tbody td:nth-child(5)").all_inner_texts())
        with server.runtime.store.engine.connect() as connection:
            departures = connection.exec_driver_sql("SELECT count(*) FROM departures").scalar_one()
        assert counted == departures >= 1
        _screenshot(page, shots / "dashboard.png")
        page.click("#logout")

        # The auditor sees who looked at which capture, and why; the chain is intact.
        page.fill("input[name=username]", "aude")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button")
        page.click("nav a[data-page=audit]")
        expect(page.locator("#audit-state")).to_contain_text("chain intact")
        expect(page.locator("#audit tbody")).to_contain_text("olivia")
        expect(page.locator("#audit tbody")).to_contain_text("adjudication")
        _screenshot(page, shots / "audit.png")
        browser.close()
