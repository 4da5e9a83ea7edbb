"""The app as a planner meets it: ``app.py`` on a free localhost port, driven in headless Chromium.

``app_url`` starts the app once per test session; ``browser`` is a Selenium driver of Debian's
``chromium`` through ``chromium-driver`` (both installed by ``.ci/run``; the browser tests are
skipped where they are absent), at a planner's window size. ``screenshot(browser, name)`` keeps a
PNG of the page under ``$TWIN_SCREENSHOTS`` (default ``build/screenshots``) as a test artifact.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: A planner's window. [px]
WINDOW = (1600, 1000)
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    """Address of ``python app.py`` started on a free port (stopped after the session)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, line
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:  # the server may need a moment after printing its address
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven through chromium-driver at :data:`WINDOW`."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads_dir())})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    # headless Chromium saves downloads only where it is told to
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow",
                                                        "downloadPath": str(downloads_dir())})
    try:
        yield driver
    finally:
        driver.quit()


def downloads_dir() -> Path:
    """Where the browser saves downloads (a fresh folder per session under ``build/``)."""
    d = ROOT / "build" / "downloads"
    d.mkdir(parents=True, exist_ok=True)
    return d


def screenshot(driver, name: str) -> Path:
    """Keep a PNG of the current page as ``<$TWIN_SCREENSHOTS>/<name>.png``."""
    out = Path(os.environ.get("TWIN_SCREENSHOTS", ROOT / "build" / "screenshots"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def until(predicate, timeout_s: float, what: str, poll_s: float = 0.1):
    """The first truthy value of ``predicate()``, polled every ``poll_s``; fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def wait_for_text(driver, element_id: str, predicate, timeout_s: float = 60.0) -> str:
    """The text of ``#element_id`` once ``predicate(text)`` holds (fails after ``timeout_s``)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout_s
    text = None
    while time.monotonic() < deadline:
        try:
            text = driver.find_element(By.ID, element_id).text
            if predicate(text):
                return text
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        time.sleep(0.2)
    raise AssertionError(f"#{element_id} never matched within {timeout_s} s; last text: {text!r}")


def choose(driver, dropdown_id: str, option: str) -> None:
    """Pick ``option`` (its shown text) in the ``dcc.Dropdown`` ``#dropdown_id``, as a planner clicks."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, dropdown_id).click()
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        for o in driver.find_elements(By.CSS_SELECTOR, "[role=option]"):
            if o.text == option:
                o.click()
                return
        time.sleep(0.1)
    raise AssertionError(f"#{dropdown_id} has no option {option!r}")
