"""The menu's inbox count follows htmx decisions: each answer of the inbox swaps the
menu's inbox link out of band with the count after the decision."""

import re

from apis.services.applications import application_create
from tenants.actors import Actor

from .pages import HTMX, market_fixture, url  # noqa: F401

INBOX = url("inbox", "acme")


def decide(pk: int) -> str:
    return url("inbox_decide", "acme", pk=pk)


def inbox_link(body: str) -> str:
    found = re.search(r'<a id="nav-inbox"[^>]*>.*?</a>', body, re.S)
    assert found, "no inbox link in the answer"
    return found.group(0)


def two_requests(market):
    kiosk = application_create(
        team=market.cast.other_team, name="Kiosk", actor=Actor.for_user(market.developer)
    )
    return market.request(), market.request(application=kiosk)


def test_the_page_renders_the_inbox_link_the_answers_swap(market, client_for):
    two_requests(market)
    link = inbox_link(client_for(market.cast.maintainer).get(INBOX).content.decode())
    assert 'data-testid="inbox-count">2<' in link
    assert 'aria-label="Inbox: 2 waiting"' in link
    assert 'aria-current="page"' in link
    assert "hx-swap-oob" not in link


def test_each_htmx_decision_swaps_the_count_out_of_band(market, client_for):
    first, second = two_requests(market)
    client = client_for(market.cast.maintainer)
    body = client.post(decide(first.pk), {"action": "approve"}, **HTMX).content.decode()
    link = inbox_link(body)
    assert 'hx-swap-oob="true"' in link
    assert 'data-testid="inbox-count">1<' in link
    assert 'aria-label="Inbox: 1 waiting"' in link
    assert f'href="{INBOX}"' in link
    body = client.post(
        decide(second.pk), {"action": "reject", "reason": "One is enough"}, **HTMX
    ).content.decode()
    link = inbox_link(body)
    assert 'hx-swap-oob="true"' in link
    assert "inbox-count" not in link
    assert 'aria-label="Inbox"' in link


def test_a_refused_decision_brings_the_row_and_the_count(market, client_for):
    first, _second = two_requests(market)
    response = client_for(market.cast.maintainer).post(
        decide(first.pk), {"action": "reject", "reason": ""}, **HTMX
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert body.lstrip().startswith("<tr")
    link = inbox_link(body)
    assert 'hx-swap-oob="true"' in link
    assert 'data-testid="inbox-count">2<' in link


def test_a_request_decided_meanwhile_updates_the_count_too(market, client_for):
    first, _second = two_requests(market)
    client_for(market.cast.admin).post(decide(first.pk), {"action": "approve"})
    response = client_for(market.cast.maintainer).post(
        decide(first.pk), {"action": "reject", "reason": "too late"}, **HTMX
    )
    assert response.status_code == 200
    assert 'data-testid="inbox-count">1<' in inbox_link(response.content.decode())


def test_without_htmx_the_redirected_page_has_the_new_count(market, client_for):
    first, _second = two_requests(market)
    client = client_for(market.cast.maintainer)
    response = client.post(decide(first.pk), {"action": "approve"}, follow=True)
    link = inbox_link(response.content.decode())
    assert 'data-testid="inbox-count">1<' in link
    assert "hx-swap-oob" not in link
