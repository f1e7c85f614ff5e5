"""The dashboard in headless Chromium over a real populated chain (rounds table, a round page)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedledger.audit.api import create_app
from fedledger.audit.service import AuditService
from fedledger.chain.devnet import free_port
from tests.support.audit import serve_in_thread
from tests.support.browser import chromium, wait_for, wait_text

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(populated, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    w = populated.world
    db = Path(tmp_path_factory.mktemp("browser")) / "audit.db"
    service = AuditService(
        w.backend, w.deployment, str(populated.store_dir), db, reports=populated.reports
    )
    service.refresh()
    try:
        with serve_in_thread(create_app(service), free_port()) as url:
            yield url
    finally:
        service.close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as d:
        yield d


def test_rounds_table_shows_green_and_red_badges_and_the_accuracy_plot(driver, base_url, tmp_path):
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/")
    wait_for(driver, "#rounds-table tr[data-round]")
    rows = driver.find_elements(By.CSS_SELECTOR, "#rounds-table tr[data-round]")
    badges = {
        int(r.get_attribute("data-round")): r.find_element(By.CSS_SELECTOR, ".badge").get_attribute(
            "data-verified"
        )
        for r in rows
    }
    assert badges == {1: "ok", 2: "ok", 3: "failed", 4: "ok"}
    bad = driver.find_element(By.CSS_SELECTOR, 'tr[data-round="3"] .badge')
    assert bad.value_of_css_property("background-color") == "rgba(207, 34, 46, 1)"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#accuracy-plot circle")) == 4
    assert "reported by aggregator" in driver.find_element(By.TAG_NAME, "main").text
    shot = tmp_path / "dashboard-rounds.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    shutil.copy(shot, Path(tempfile.gettempdir()) / "audit-dashboard-rounds.png")


def test_round_page_lists_participants_commitments_and_failed_check(driver, base_url, tmp_path):
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/")
    wait_for(driver, 'tr[data-round="3"] a').click()
    wait_for(driver, "#checks-table")
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Round #3")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#members-table tbody tr")) == 5
    assert len(driver.find_elements(By.CSS_SELECTOR, "#commitments-table tbody tr")) == 5
    failed = driver.find_elements(By.CSS_SELECTOR, "#checks-table tr.check-fail")
    assert {f.get_attribute("data-check") for f in failed} == {
        "aggregate_recomputed",
        "model_update",
    }
    assert "differs" in failed[0].text or "differs" in failed[1].text
    shot = tmp_path / "dashboard-round.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    shutil.copy(shot, Path(tempfile.gettempdir()) / "audit-dashboard-round.png")


def test_round_page_of_a_dropout_round_names_the_stage(driver, base_url):
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/#/round/2")
    # A hash-only navigation does not reload: wait for round 2's page, not the previous one's.
    wait_for(driver, "#checks-table")
    wait_text(driver, "h1", lambda t: t.startswith("Round #2"))
    text = wait_text(driver, "#members-table", lambda t: "dropped" in t)
    assert "masked_input" in text
    assert not driver.find_elements(By.CSS_SELECTOR, "#checks-table tr.check-fail")


@pytest.fixture(scope="module")
def slashed_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """A staked simulation whose round 1 slashed the survivor that went silent in unmask."""
    from tests.support.slash import staked_sim

    root = Path(tmp_path_factory.mktemp("slashed"))
    sim = staked_sim(root / "sim", silent=2)
    sim.run_round()
    service = AuditService(sim.chain, sim.deployment, str(sim.store.root), root / "audit.db")
    service.refresh()
    try:
        with serve_in_thread(create_app(service), free_port()) as url:
            yield url, sim
    finally:
        service.close()
        sim.close()


def test_a_slash_shows_on_the_round_participant_and_rewards_pages(driver, slashed_url, tmp_path):
    from selenium.webdriver.common.by import By

    url, sim = slashed_url
    silent = sim.accounts[2].address
    driver.get(url + "/")  # another origin: a full load, so nothing stale is on the page
    driver.get(url + "/#/round/1")
    row = wait_for(driver, f'#round-slashes-table tr.slash[data-account="{silent}"]')
    assert row.get_attribute("data-reason") == "1"
    assert "no unmask response" in row.text and "25" in row.text  # 25 % of a 100 FLR stake
    members = driver.find_element(By.ID, "members-table").text
    assert "unmask" in members
    shot = tmp_path / "dashboard-slash.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    shutil.copy(shot, Path(tempfile.gettempdir()) / "audit-dashboard-slash.png")

    row.find_element(By.CSS_SELECTOR, "td:nth-child(2) a").click()
    wait_for(driver, "#participant-slashes-table tr.slash")
    assert driver.find_element(By.ID, "participant-stake").text == "75"
    assert driver.find_element(By.ID, "participant-slashed").text == "25"
    kinds = driver.find_element(By.ID, "stake-table").text
    assert "staked" in kinds and "slashed" in kinds

    driver.get(url + "/#/rewards")
    wait_for(driver, "#slashes-table tr.slash")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#slashes-table tr.slash")) == 1
    rewards = driver.find_elements(By.CSS_SELECTOR, "#rewards-table tbody tr")
    assert len(rewards) == 6
