"""The review page in a real browser: Debian's headless Chromium, driven by Selenium.

Nothing is downloaded: the browser and its driver are the system's (`chromium`,
`chromium-driver`, installed by scripts/install-system.sh).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.server.conftest import Served

WAIT_S = 30
#: The box colours of review.css (the artifacts' KIND_COLOURS).
SIGNATURE_RGB = (220, 40, 40)
ANNOTATION_RGB = (30, 90, 230)
#: Pixels of a colour that show a box was drawn: a 3 px border around even a small box has hundreds.
MIN_BOX_PIXELS = 200


def _system_binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"none of {names} is installed: run scripts/install-system.sh (Debian packages)")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = _system_binary("chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1200"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(_system_binary("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def _pixels_of(picture: Image.Image, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    pixels = np.asarray(picture.convert("RGB"), dtype=np.int16)
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= tolerance).sum())


@pytest.mark.slow
def test_search_open_a_page_see_its_boxes_and_correct_a_reading(
    browser: WebDriver, served: Served, tmp_path: Path
) -> None:
    """GIVEN an indexed page WHEN a reviewer searches, opens the hit, clicks a box, edits its reading
    and saves THEN the boxes are drawn in their kinds' colours, the page says saved, and the API
    and search give the new reading."""
    span = served.annotation(page=1, index=0)
    wait = WebDriverWait(browser, WAIT_S)
    browser.get(served.url)
    browser.find_element(By.ID, "q").send_keys(span.text, Keys.ENTER)
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#results li"))
    assert span.text.split()[0] in browser.find_element(By.ID, "results").text
    marked = [node.text for node in browser.find_elements(By.CSS_SELECTOR, "#results .content .hw")]
    readings = {item.text for item in served.document.pages[0].spans}
    assert marked and set(marked) <= readings, marked
    browser.find_element(By.CSS_SELECTOR, "#results li").click()

    spans = served.document.pages[0].spans
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, "#boxes .box")) == len(spans))
    screenshot = tmp_path / "page-view.png"
    browser.save_screenshot(str(screenshot))
    picture = Image.open(screenshot)
    assert _pixels_of(picture, ANNOTATION_RGB) > MIN_BOX_PIXELS
    if any(item.is_signature for item in spans):
        assert _pixels_of(picture, SIGNATURE_RGB) > MIN_BOX_PIXELS

    browser.find_element(By.CSS_SELECTOR, f'#boxes .box[data-span-id="{span.id}"]').click()
    editor = browser.find_element(By.ID, "edit-text")
    wait.until(lambda driver: editor.get_attribute("value") == span.text)
    editor.clear()
    editor.send_keys("Fenwick Holloway")
    browser.find_element(By.ID, "save-button").click()
    wait.until(lambda driver: driver.find_element(By.ID, "save-status").text == "saved")
    corrected = browser.find_element(By.CSS_SELECTOR, f'#boxes .box[data-span-id="{span.id}"]')
    assert "corrected" in (corrected.get_attribute("class") or "")

    # Keyboard: Esc leaves the editor, j moves to the next box, n to the next page.
    editor.send_keys(Keys.ESCAPE)
    selected = int(
        browser.find_element(By.CSS_SELECTOR, "#boxes .box.selected").get_attribute("data-index") or 0
    )
    browser.find_element(By.TAG_NAME, "body").send_keys("j")
    wait.until(
        lambda driver: (
            driver.find_element(By.CSS_SELECTOR, "#boxes .box.selected").get_attribute("data-index")
            == str(min(selected + 1, len(spans) - 1))
        )
    )

    browser.find_element(By.TAG_NAME, "body").send_keys("n")
    wait.until(lambda driver: "page 2 of 2" in driver.find_element(By.ID, "page-title").text)
    second = served.document.pages[1].spans
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, "#boxes .box")) == len(second))
    assert "lease.pdf" in browser.find_element(By.CSS_SELECTOR, "#inbox tbody").text

    with served.http() as http:
        page = http.get(f"/api/documents/{served.document.id}/pages/1").json()
        hits = http.get("/api/search", params={"q": "Holloway"}).json()["hits"]
    assert next(item for item in page["spans"] if item["id"] == span.id)["text"] == "Fenwick Holloway"
    assert [hit["page"] for hit in hits] == [1]
