"""Headless Chromium for the dashboard tests (Debian chromium + chromium-driver)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Without the background-networking flags Chromium keeps dialling out of a closed network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1400",
)


@contextmanager
def chromium(profile_dir: Path) -> Iterator[Any]:
    """A selenium driver for headless Chromium with its own empty profile in `profile_dir`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, css: str, timeout: float = 15.0) -> Any:
    """The first element matching `css`, once present (a re-render mid-wait is retried)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
    ).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def wait_text(driver: Any, css: str, want: Callable[[str], bool], timeout: float = 15.0) -> str:
    """The text of the first element matching `css`, once `want(text)` holds.

    The dashboard re-renders a page as its data arrives, so an element found a moment ago
    may be gone when its text is read: a stale element is retried, never an error.
    """
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(d: Any) -> str | bool:
        text = d.find_element(By.CSS_SELECTOR, css).text
        return text if want(text) else False

    return WebDriverWait(
        driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(ready)
