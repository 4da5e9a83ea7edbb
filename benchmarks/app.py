"""The planner's app as a planner waits for it: start-up, first render and interactions, in Chromium.

Run: ``python benchmarks/app.py`` (writes its table into benchmarks/README.md). Starts ``app.py`` as a
fresh process (its start-up is process time: interpreter, imports, building the app, until it
answers), then drives Debian's headless Chromium through chromium-driver (Selenium) at a planner's
window size. Each time is from the planner's action (navigation, a click, a key) until the figure
the action changes shows the engine's new number: what a planner waits for, server and browser
together. First renders are timed from WebDriver (navigation to the figure, polled every 10 ms);
interactions in the page itself (``performance.now()`` before the action to the DOM mutation that
shows the change), which leaves out WebDriver's polling but keeps its dispatch of the action.
Times are the median of three tries (the first render of each page is
measured on a fresh browser tab, after one warm-up load of the app's JavaScript).

Goals (issue 15): first render under 2 s and interactions under 300 ms for the ~100 MW hall.
"""

from __future__ import annotations

import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from readme import write_section

ROOT = Path(__file__).resolve().parents[1]
HALL = "hall-100mw.yaml"
INTRO = """## The planner's app in the browser (issue 15)

Goals: first render under 2 s and interactions under 300 ms for the ~100 MW hall, measured as a
planner waits (from the action until the changed figure shows the engine's number, server and
headless Chromium on the same 2-core machine). Run with `python benchmarks/app.py`."""
TRIES = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_app(port: int) -> tuple[subprocess.Popen, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.stdout.readline()
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.01)
    return proc, time.perf_counter() - t0


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1600,1000"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def _until(driver, css: str, predicate, timeout_s: float = 60.0) -> float:
    """Seconds until the text of ``css`` satisfies ``predicate`` (polled every 10 ms)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        try:
            if predicate(driver.find_element(By.CSS_SELECTOR, css).text):
                return time.perf_counter() - t0
        except (NoSuchElementException, StaleElementReferenceException):
            pass
        time.sleep(0.01)
    raise TimeoutError(f"{css} never matched in {timeout_s} s")


def _timed(action, driver, css, predicate) -> float:
    t0 = time.perf_counter()
    action()
    _until(driver, css, predicate)
    return time.perf_counter() - t0


#: Watches ``css`` in the page and stamps ``window.__twin_done`` (performance.now()) at the first
#: change of the DOM after which its text meets the test (``includes`` / ``differs`` a value).
WATCH_JS = """
const [css, how, value] = arguments;
window.__twin_done = null;
const test = () => { const e = document.querySelector(css); if (!e) return false;
  const t = e.textContent; return how === 'includes' ? t.includes(value) : t !== value; };
const obs = new MutationObserver(() => { if (window.__twin_done === null && test()) {
  window.__twin_done = performance.now(); obs.disconnect(); } });
obs.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
return performance.now();
"""


def _timed_in_page(action, driver, css: str, how: str, value: str, timeout_s: float = 30.0) -> float:
    """Seconds from just before ``action`` until the page's DOM shows the change, timed in the page
    (``performance.now()``), so WebDriver's own polling latency is left out."""
    t0 = driver.execute_script(WATCH_JS, css, how, value)
    action()
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        done = driver.execute_script("return window.__twin_done;")
        if done is not None:
            return (done - t0) / 1e3
        time.sleep(0.02)
    raise TimeoutError(f"{css} never changed in {timeout_s} s")


def measure(url: str) -> list[tuple[str, float, float | None]]:
    """(case, median seconds, goal seconds) of each case on the hall."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    import twin

    hall = twin.evaluate(twin.load_layout(ROOT / "layouts" / HALL), utilisation=0.8)
    it_mw = f"{hall.it_power_w / 1e6:,.3f} MW"
    out = []
    driver = _browser()
    try:
        driver.get(url + "/")  # warm-up: the app's JavaScript in the browser cache
        _until(driver, "#cap-racks", lambda s: s != "")
        cases = {"first render: layout page": [], "first render: power page": [],
                 "first render: cooling page": [], "recolour the floor plan": [],
                 "click a rack (its power paths)": [], "cooling: supply temperature 1 K down": []}
        for k in range(TRIES):
            driver.switch_to.new_window("tab")
            cases["first render: layout page"].append(_timed(
                lambda: driver.get(f"{url}/?layout={HALL}"), driver, "#cap-IT-power", lambda s: s == it_mw))
            _until(driver, "#limits-0-0", lambda s: s != "")
            metric = ["Hottest GPU", "Coolant return temperature", "Rack input power"][k]
            driver.find_element(By.ID, "metric").click()
            opt = next(o for o in driver.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text == metric)
            cases["recolour the floor plan"].append(_timed_in_page(
                opt.click, driver, "#floor-plan .colorbar", "includes", metric))
            point = driver.find_elements(By.CSS_SELECTOR, "#floor-plan .scatterlayer .point")[k * 7]
            before = driver.find_element(By.ID, "rack-details").text
            # plotly takes clicks on its drag layer: the pointer jumps onto the rack (WebDriver glides
            # it over 250 ms by default), then clicks
            cases["click a rack (its power paths)"].append(_timed_in_page(
                lambda p=point: ActionChains(driver, duration=0).move_to_element(p).click().perform(), driver,
                "#rack-details", "differs", before))
            cases["first render: power page"].append(_timed(
                lambda: driver.get(f"{url}/power?layout={HALL}"), driver, "#power-n1-verdict",
                lambda s: "N-1" in s))
            cases["first render: cooling page"].append(_timed(
                lambda: driver.get(f"{url}/cooling?layout={HALL}"), driver, "#loop-0-4", lambda s: s != ""))
            thumb = driver.find_element(By.CSS_SELECTOR, "#cooling-supply [role=slider]")
            thumb.click()
            _until(driver, "#loop-0-4", lambda s: s != "")
            before = driver.find_element(By.ID, "loop-0-4").text
            cases["cooling: supply temperature 1 K down"].append(_timed_in_page(
                lambda t=thumb: t.send_keys(Keys.ARROW_LEFT), driver, "#loop-0-4", "differs", before))
            driver.close()
            driver.switch_to.window(driver.window_handles[0])
        for case, times in cases.items():
            goal = 2.0 if case.startswith("first render") else 0.3
            out.append((case, statistics.median(times), goal))
    finally:
        driver.quit()
    return out


def main() -> None:
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        sys.exit("benchmarks/app.py needs Debian's chromium and chromium-driver")
    port = _free_port()
    proc, start_s = _start_app(port)
    try:
        rows = [("start-up: `python app.py` until it answers (process)", start_s, None),
                *measure(f"http://127.0.0.1:{port}")]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, "
             f"{platform.python_implementation()} {platform.python_version()}, 2 cores; command: "
             f"`python benchmarks/app.py`. Layout {HALL} (720 racks, 248 power components); median of "
             f"{TRIES} tries; server and headless Chromium on the same machine.", "",
             "| case | time [s] | goal |", "|---|---|---|"]
    for case, t, goal in rows:
        verdict = "" if goal is None else f"< {goal:g} s: {'met' if t < goal else 'NOT met'}"
        lines.append(f"| {case} | {t:.2f} | {verdict} |")
    write_section("app", INTRO, "\n".join(lines))


if __name__ == "__main__":
    main()
