"""An unjustified slash turns its round red in the auditor API and dashboard at the next refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fedledger.audit.api import create_app
from fedledger.audit.service import AuditService
from fedledger.chain import ChainBackend, EmbeddedChain, RpcChain, SlashReason
from fedledger.chain.devnet import free_port
from fedledger.store import FilesystemBlobStore
from tests.support.audit import (
    AuditWorld,
    build_world,
    roster_member,
    run_round,
    serve_in_thread,
)
from tests.support.browser import chromium, wait_for

pytestmark = pytest.mark.adversarial


@pytest.fixture(params=["eth-tester", pytest.param("anvil", marks=pytest.mark.anvil)])
def backend(request: pytest.FixtureRequest) -> ChainBackend:
    if request.param == "eth-tester":
        return EmbeddedChain()
    return RpcChain(request.getfixturevalue("anvil_url"))


def _badges(client: TestClient, rid: int) -> tuple[bool | None, bool | None, bool | None]:
    """What the dashboard shows for round `rid`: list badge, detail badge, verification page."""
    listed = {r["round"]: r["verified"] for r in client.get("/api/rounds/").json()["data"]}
    detail = client.get(f"/api/rounds/{rid}").json()["verification"]
    report = client.get(f"/api/rounds/{rid}/verification").json()
    return listed[rid], (detail or {}).get("ok"), report["ok"]


def test_an_unjustified_slash_turns_the_round_red_at_once(
    backend: ChainBackend, tmp_path: Path
) -> None:
    world: AuditWorld = build_world(backend=backend)
    store = FilesystemBlobStore(tmp_path / "blobs", fsync=False)
    run = run_round(world, store, seed=7)
    service = AuditService(world.backend, world.deployment, str(store.root), tmp_path / "a.db")
    try:
        with TestClient(create_app(service), raise_server_exceptions=False) as client:
            service.refresh()
            assert _badges(client, run.round_id) == (True, True, True)

            # The aggregator slashes a survivor that answered the unmask request (reason 1).
            honest = run.survivors[0]
            log = world.c.round_log
            log.slash(
                run.round_id, honest, member=roster_member(log, store, run.round_id, honest),
                reason=SlashReason.NO_UNMASK_RESPONSE,
                evidence_hash=log.get_round(run.round_id).reveal_hash, sender=world.aggregator,
            )  # fmt: skip
            service.refresh()  # the API's poller does this every few seconds

            assert _badges(client, run.round_id) == (False, False, False)
            report = client.get(f"/api/rounds/{run.round_id}/verification").json()
            assert report["failed"] == ["slash_justified"]
            [check] = [c for c in report["checks"] if c["name"] == "slash_justified"]
            assert "answered the unmask request" in str(check["found"])
    finally:
        service.close()


@pytest.mark.browser
def test_an_unjustified_slash_turns_the_dashboard_badge_red(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    world: AuditWorld = build_world()
    store = FilesystemBlobStore(tmp_path / "blobs", fsync=False)
    run = run_round(world, store, seed=7)
    service = AuditService(world.backend, world.deployment, str(store.root), tmp_path / "a.db")
    service.refresh()
    badge = f'tr[data-round="{run.round_id}"] .badge'
    try:
        with (
            serve_in_thread(create_app(service), free_port()) as url,
            chromium(tmp_path / "chromium-profile") as d,
        ):
            d.get(url + "/")
            assert wait_for(d, badge).get_attribute("data-verified") == "ok"

            log = world.c.round_log
            log.slash(
                run.round_id, run.survivors[0],
                member=roster_member(log, store, run.round_id, run.survivors[0]),
                reason=SlashReason.NO_UNMASK_RESPONSE,
                evidence_hash=log.get_round(run.round_id).reveal_hash, sender=world.aggregator,
            )  # fmt: skip
            service.refresh()
            d.get(url + "/?after-slash")
            WebDriverWait(d, 15).until(
                lambda drv: (
                    drv.find_element(By.CSS_SELECTOR, badge).get_attribute("data-verified")
                    == "failed"
                )
            )
            assert "slash_justified" in d.find_element(By.CSS_SELECTOR, badge).get_attribute(
                "title"
            )
    finally:
        service.close()
