"""The auditor API over a real populated chain: lists, details, verification, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fedledger.audit.api import create_app
from fedledger.audit.service import AuditService


@pytest.fixture(scope="module")
def service(populated, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditService]:
    w = populated.world
    db = Path(tmp_path_factory.mktemp("api")) / "audit.db"
    svc = AuditService(
        w.backend, w.deployment, str(populated.store_dir), db, reports=populated.reports
    )
    svc.refresh()
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def client(service: AuditService) -> Iterator[TestClient]:
    with TestClient(create_app(service), raise_server_exceptions=False) as c:
        yield c


def test_rounds_list_newest_first_with_badges(client, populated):
    body = client.get("/api/rounds/").json()
    assert body["count"] == 4
    assert [r["round"] for r in body["data"]] == [4, 3, 2, 1]
    badges = {r["round"]: r["verified"] for r in body["data"]}
    assert badges == {1: True, 2: True, 3: False, 4: True}
    assert body["data"][1]["failed_checks"] == ["aggregate_recomputed", "model_update"]


def test_pagination_skips_and_limits(client):
    body = client.get("/api/rounds/", params={"skip": 1, "limit": 2}).json()
    assert [r["round"] for r in body["data"]] == [3, 2] and body["count"] == 4


def test_round_detail_shows_dropout_stage_commitments_and_gas(client, populated):
    dropped = populated.world.participants[2].address
    body = client.get("/api/rounds/2").json()
    fate = {m["address"]: (m["status"], m["stage_dropped"]) for m in body["roster"]}
    assert fate[dropped] == ("dropped", "masked_input")
    assert sum(1 for s, _ in fate.values() if s == "survivor") == 4
    assert len(body["commitments"]) == 4 and all(
        c["gas_used"] > 21_000 for c in body["commitments"]
    )
    assert body["total_weight"] == sum(c["weight"] for c in body["commitments"]) > 0
    assert body["gas"]["finalize"] == populated.runs[1].finalize_gas
    assert body["verification"]["ok"] is True
    assert body["metrics"]["accuracy"] == pytest.approx(0.75)


def test_tampered_round_verification_is_red_with_named_check(client):
    body = client.get("/api/rounds/3/verification").json()
    assert body["ok"] is False
    failed = {c["name"]: c for c in body["checks"] if not c["passed"]}
    assert "aggregate_recomputed" in failed
    assert "differs" in failed["aggregate_recomputed"]["detail"]


def test_refresh_recomputes_the_same_verification(client):
    cached = client.get("/api/rounds/1/verification").json()
    fresh = client.get("/api/rounds/1/verification", params={"refresh": True}).json()
    assert fresh["ok"] is cached["ok"] is True
    assert [c["name"] for c in fresh["checks"]] == [c["name"] for c in cached["checks"]]


def test_participant_detail_lists_rounds_commitments_and_rewards(client, populated):
    a = populated.world.participants[2].address
    body = client.get(f"/api/participants/{a.lower()}").json()
    assert body["address"] == a
    assert body["round_ids"] == [1, 2, 3, 4]
    assert [c["round"] for c in body["commitments"]] == [1, 3, 4]  # dropped out of round 2
    assert [r["round"] for r in body["rewards"]] == [1, 3, 4]
    assert int(body["rewards_accrued"]) == 10 * 10**18 * 2 + 7 * 10**18


def test_participants_list_counts_registrations(client, populated):
    body = client.get("/api/participants/").json()
    assert body["count"] == len(populated.world.participants)
    assert all(p["registered"] for p in body["data"])


def test_rewards_show_accrued_and_claimed(client, populated):
    voter = populated.world.participants[0].address
    body = client.get("/api/rewards/").json()
    by = {r["participant"]: r for r in body["data"]}
    assert int(by[voter]["claimed_total"]) == 30 * 10**18  # claimed after three 10-token rounds
    assert int(by[voter]["accrued_total"]) == 37 * 10**18


def test_governance_shows_params_change_proposal_and_vote(client, populated):
    params = client.get("/api/governance/params").json()
    assert params["current"]["reward_per_contribution"] == 7 * 10**18
    assert params["updates"][-1]["config"]["reward_per_contribution"] == 7 * 10**18
    proposals = client.get("/api/governance/proposals").json()
    (p,) = proposals["data"]
    assert p["id"] == str(populated.proposal_id) and p["state"] == "executed"
    assert int(p["votes_for"]) == 30 * 10**18
    votes = client.get(f"/api/governance/proposals/{p['id']}/votes").json()
    assert (
        votes["count"] == 1 and votes["data"][0]["voter"] == populated.world.participants[0].address
    )


def test_accuracy_is_labelled_as_reported(client):
    body = client.get("/api/metrics/accuracy").json()
    assert body["source"] == "reported by aggregator"
    assert [p["round"] for p in body["data"]] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("path", "status", "needle"),
    [
        ("/api/rounds/99", 404, "round 99"),
        ("/api/rounds/99/verification", 404, "round 99"),
        ("/api/rounds/0", 422, "greater than or equal to 1"),
        ("/api/rounds/abc", 422, "valid integer"),
        ("/api/rounds/99999999999999999999999", 422, "less than or equal"),
        ("/api/rounds/?limit=100000", 422, "less than or equal to 200"),
        ("/api/rounds/?skip=-1", 422, "greater than or equal to 0"),
        ("/api/participants/?limit=0", 422, "greater than or equal to 1"),
        ("/api/participants/0xnothex", 422, "40 hex digits"),
        ("/api/participants/0x" + "11" * 21, 422, "40 hex digits"),
        ("/api/participants/0x" + "ab" * 20, 404, "never registered"),
        ("/api/governance/proposals/12x/votes", 422, "pattern"),
        ("/api/governance/proposals/123/votes", 404, "proposal 123"),
    ],
)
def test_bad_input_gets_a_4xx_with_a_clear_detail(client, path, status, needle):
    resp = client.get(path)
    assert resp.status_code == status, resp.text
    assert needle in str(resp.json()["detail"])


def test_openapi_is_published_and_read_only(client):
    spec = client.get("/openapi.json").json()
    assert "/api/rounds/{round_id}/verification" in spec["paths"]
    methods = {m for item in spec["paths"].values() for m in item}
    assert methods == {"get"}


def test_dashboard_is_served_without_external_resources(client):
    html = client.get("/").text
    assert "app.js" in html
    for asset in ("/", "/app.js", "/style.css"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text
