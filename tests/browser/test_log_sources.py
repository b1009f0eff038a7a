"""An owner adds an upload log source from the usage pages, uploads a gzip file of API
Gateway access-log lines, and reads the import run's counts on the source's page."""

import gzip
import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.analytics.logs import now_ms, rest_line

from .pages import field, sign_in

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("PORTICO_SCREENSHOTS", "")


def test_an_owner_adds_an_upload_source_uploads_a_file_and_sees_the_run(
    cast, page: Page, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    start = now_ms() - 3_600_000
    lines = [rest_line(f"req-{i}", start + i * 1000) for i in range(5)]
    log_file = tmp_path / "ledger-export.log.gz"
    log_file.write_bytes(gzip.compress(b"\n".join([*lines, b"garbage line"]) + b"\n"))

    sign_in(page, cast.owner.email)
    page.goto(f"/o/{cast.org.slug}/usage/")
    page.get_by_role("navigation", name="Usage").get_by_role("link", name="Log sources").click()
    expect(page.get_by_role("heading", name="Log sources", level=1)).to_be_visible()
    page.get_by_role("link", name="Add a log source").click()
    page.get_by_role("link", name="Uploaded files").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a log source: Uploaded files")
    field(page, "Name").fill("Ledger exports")
    field(page, "Log format").select_option(label="API Gateway REST access log (JSON)")
    page.get_by_role("button", name="Add log source").click()

    expect(page).to_have_url(re.compile(rf"/o/{cast.org.slug}/usage/sources/\d+/$"))
    expect(page.locator("#messages")).to_contain_text("Log source Ledger exports added.")
    expect(page.get_by_test_id("import-status")).to_contain_text("No import yet.")
    field(page, "Log file").set_input_files(log_file)
    page.get_by_role("button", name="Upload and import").click()

    expect(page.locator("#messages")).to_contain_text("ledger-export.log.gz uploaded")
    status = page.get_by_test_id("import-status")
    expect(status.get_by_test_id("run-status")).to_have_text("Succeeded")
    expect(status.get_by_test_id("run-read")).to_have_text("6")
    expect(status.get_by_test_id("run-imported")).to_have_text("5")
    expect(status.get_by_test_id("run-duplicates")).to_have_text("0")
    expect(status.get_by_test_id("run-rejected")).to_have_text("1")
    expect(page.get_by_test_id("uploads")).to_contain_text("Imported")
    page.get_by_text("1 sampled bad line").click()
    expect(page.get_by_test_id("run-samples")).to_contain_text("garbage line")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "log-source-upload.png"), full_page=True)

    page.get_by_role("link", name="Log sources").last.click()
    row = page.get_by_test_id("log-source").filter(has_text="Ledger exports")
    expect(row).to_contain_text("succeeded")
    expect(row).to_contain_text("Uploaded files")
