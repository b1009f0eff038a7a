"""Two people sign up in a real browser, work together in one organisation, and one of
them switches between two organisations."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

from .pages import field

pytestmark = pytest.mark.browser


def sign_up_and_verify(page: Page, outbox_link, email: str) -> None:
    page.goto("/")
    page.get_by_role("banner").get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign Up")).to_be_visible()
    field(page, "Email").fill(email)
    field(page, "Password").fill(PASSWORD)
    field(page, "Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()
    # Not signed in until the address is verified.
    expect(page.get_by_role("banner").get_by_role("link", name="Sign in")).to_be_visible()

    page.goto(outbox_link(email, "/accounts/confirm-email/"))
    expect(page.get_by_role("heading", name="Confirm Email Address")).to_be_visible()
    expect(page.get_by_text(f"Please confirm that {email}")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"You have confirmed {email}.")).to_be_visible()
    expect(page.get_by_role("banner").get_by_text(email)).to_be_visible()


def create_organisation(page: Page, name: str, slug: str) -> None:
    page.get_by_test_id("org-switcher").locator("summary").click()
    page.get_by_role("link", name="New organisation…").click()
    expect(page.get_by_role("heading", name="New organisation")).to_be_visible()
    field(page, "Name").fill(name)
    field(page, "Slug").fill(slug)
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_text(f"Organisation {name} created.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def switch_to(page: Page, name: str) -> None:
    switcher = page.get_by_test_id("org-switcher")
    switcher.locator("summary").click()
    switcher.get_by_role("link", name=re.compile(f"^{re.escape(name)}")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(switcher.locator("summary")).to_have_text(name)


def test_sign_up_organise_invite_accept_and_switch(new_page, outbox_link):
    alice = new_page()
    sign_up_and_verify(alice, outbox_link, "alice@example.com")
    expect(alice.get_by_role("heading", name="Your organisations")).to_be_visible()
    expect(alice.get_by_text("You do not belong to an organisation yet.")).to_be_visible()

    create_organisation(alice, "Acme Widgets", "acme-widgets")
    expect(alice.get_by_text("1 member · you are owner")).to_be_visible()

    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Teams").click()
    expect(alice.get_by_role("heading", name="Teams")).to_be_visible()
    expect(alice.get_by_text("No teams yet.")).to_be_visible()
    field(alice, "Name").fill("Payments")
    field(alice, "Slug").fill("payments")
    alice.get_by_role("button", name="Create team").click()
    expect(alice.get_by_text("Team Payments created.")).to_be_visible()

    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Invitations").click()
    expect(alice.get_by_role("heading", name="Invitations")).to_be_visible()
    field(alice, "E-mail address").fill("bob@example.com")
    field(alice, "Team").select_option(label="Payments")
    field(alice, "Role in the team").select_option(label="Developer")
    alice.get_by_role("button", name="Send invitation").click()
    expect(alice.get_by_text("Invitation sent to bob@example.com.")).to_be_visible()
    invitations = alice.get_by_role("table")
    expect(invitations.get_by_role("row", name=re.compile("bob@example.com"))).to_contain_text(
        "pending"
    )
    invitation_path = outbox_link("bob@example.com", "/invitations/")

    bob = new_page()
    sign_up_and_verify(bob, outbox_link, "bob@example.com")
    bob.goto(invitation_path)
    expect(bob.get_by_role("heading", name="Join Acme Widgets")).to_be_visible()
    expect(bob.get_by_text("into the team Payments as developer")).to_be_visible()
    bob.get_by_role("button", name="Accept invitation").click()
    expect(bob.get_by_text("Welcome to Acme Widgets.")).to_be_visible()
    expect(bob.get_by_role("heading", level=1)).to_have_text("Acme Widgets")
    expect(bob.get_by_role("link", name="Payments").first).to_be_visible()

    create_organisation(bob, "Bob's Lab", "bobs-lab")
    switch_to(bob, "Acme Widgets")
    expect(bob.get_by_text("2 members · you are member")).to_be_visible()
    switch_to(bob, "Bob's Lab")
    expect(bob.get_by_text("1 member · you are owner")).to_be_visible()

    alice.reload()
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    expect(alice.get_by_role("cell", name="bob@example.com", exact=True)).to_be_visible()
