"""Driving the app's page in headless chromium (playwright): shared by the browser tests and bench_browser.py.

It lives beside app.py because rain/ never imports gradio or playwright.
"""

from __future__ import annotations

import os
import re
import shutil

CHROMIUM = os.environ.get("RAIN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# the flags of ../shared/notes/ecosystem.md ("Browser tests"), plus the fake camera
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream"]
READOUT = re.compile(r"(\d+(?:\.\d+)?) FPS · latency (\d+) ms · (\w+)")  # fps, latency, conditioner status


def open_tab(page, label: str):  # noqa: ANN001, ANN201 - playwright Page -> Locator
    """Select a tab by its name; returns the (only rendered) tab panel."""
    page.get_by_role("tab", name=label, exact=True).click()
    panel = page.get_by_role("tabpanel")
    panel.get_by_test_id("block-label").filter(has_text="Camera").wait_for()
    return panel


def component(panel, page, label: str):  # noqa: ANN001, ANN201
    """The component block whose label reads `label`."""
    return panel.locator(".block").filter(has=page.get_by_test_id("block-label").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))


def pick_example(panel, page, filename: str) -> None:  # noqa: ANN001
    """Click the example character whose thumbnail is `filename` in the Examples table."""
    panel.get_by_role("button").filter(has=page.locator(f"img[src$='/{filename}']")).click()


def image_src(block) -> str | None:  # noqa: ANN001
    srcs = block.locator("img").evaluate_all("els => els.map(e => e.getAttribute('src')).filter(s => s)")
    return srcs[0] if srcs else None
