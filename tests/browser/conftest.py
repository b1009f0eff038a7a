"""Playwright in Debian's Chromium against pytest-django's live server.

``playwright install`` cannot download browsers here, so the tests launch the
system Chromium. The sync API runs an event loop in the test's thread, which
makes Django refuse ORM calls from it unless told that this is intended.
"""

import os
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import sync_playwright

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def base_url(live_server, settings):
    # Links the portal mails out (invitations) must point at this server.
    settings.PORTICO_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def new_page(browser, base_url):
    """Open a page in a fresh browser context: a separate person with their own cookies."""
    contexts = []

    def make():
        context = browser.new_context(base_url=base_url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def outbox_link():
    """The path of the link in the last mail to ``to`` whose URL contains ``marker``."""

    def find(to: str, marker: str) -> str:
        for message in reversed(mail.outbox):
            if to in message.to:
                for url in re.findall(r"https?://\S+", message.body):
                    if marker in url:
                        return "/" + url.split("/", 3)[3]
        sent = [(m.to, m.subject) for m in mail.outbox]
        raise AssertionError(f"no mail to {to} with a {marker!r} link; sent: {sent}")

    return find
