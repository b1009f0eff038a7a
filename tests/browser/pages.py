"""What the browser tests do on every page: find a labelled field, sign in."""

import re

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def field(page: Page, label: str):
    """The input labelled exactly ``label``; required fields add a hidden " *" to it."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def sign_in(page: Page, email: str) -> None:
    page.goto("/accounts/login/")
    field(page, "Email").fill(email)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("banner").get_by_text(email)).to_be_visible()
