"""Browser tests' machinery: the app served on a loopback port by a thread (it sees committed
data), headless Debian Chromium driven by Selenium, and a screenshot of each step into
``tests/screenshots/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from tests.conftest import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "tests" / "screenshots"
WAIT_S = 20


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        f"none of {names} is installed: tests/run.sh installs chromium and chromium-driver"
    )


@contextmanager
def chromium(downloads: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,1000", "--lang=ru-RU",
    ):  # fmt: skip
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(_binary("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Browser:
    """A few verbs over the driver, each step waited for."""

    def __init__(self, driver: webdriver.Chrome, base: str, test: str) -> None:
        self.driver, self.base, self.test, self.shots = driver, base, test, 0

    def _wait(self, timeout: float) -> WebDriverWait[webdriver.Chrome]:
        """A wait that tries again while the page is being replaced under it (Chromium then
        answers with stale or foreign nodes)."""
        return WebDriverWait(
            self.driver,
            timeout,
            ignored_exceptions=(
                StaleElementReferenceException,
                NoSuchElementException,
                WebDriverException,
            ),
        )

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def find(self, css: str) -> WebElement:
        return self._wait(WAIT_S).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def fill(self, css: str, value: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(value)

    def click(self, css: str) -> None:
        self.find(css).click()

    def button(self, text: str, within: str = "main") -> None:
        xpath = f"//{within}//button[normalize-space()='{text}']"
        self._wait(WAIT_S).until(
            expected_conditions.element_to_be_clickable((By.XPATH, xpath))
        ).click()

    def link(self, text: str) -> None:
        self._wait(WAIT_S).until(
            expected_conditions.element_to_be_clickable((By.LINK_TEXT, text))
        ).click()

    def wait_text(self, text: str, timeout: float = WAIT_S) -> None:
        self._wait(timeout).until(
            lambda driver: text in driver.find_element(By.TAG_NAME, "body").text
        )

    @property
    def page(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = SCREENSHOTS / f"{self.test}-{self.shots:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def log_in(self, email: str, password: str) -> None:
        self.open("/admin/login")
        self.fill("#email", email)
        self.fill("#password", password)
        self.shot("login")
        self.button("Войти")
        self.wait_text("Выйти")
