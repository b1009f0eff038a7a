"""Tenancy isolation: every URL pattern, every method, every kind of visitor.

The test walks every URL pattern of ``portal.urls`` (portal pages, htmx
partials, the REST API, allauth, the admin site) and fills each with sample
objects of organisation A ("acme"). It then sends GET, POST, PUT, PATCH and
DELETE as a member of organisation B, as an anonymous visitor and as the
roles of A below the one the URL needs, and asserts they get 404 (B),
a login redirect or 401/403 (anonymous) and 403/404 (lower roles), never a
page with A's data. A positive control proves the sample arguments are right:
the allowed role's GET must not fail (for POST-only URLs, a POST).

Adding a URL? Add one entry to ``REGISTRY`` in tests/isolation.py, keyed by
its full name (``"namespace:name"``; the route string if it has no name):

    "apis:version": organisation(catalogue_version),
    "apis:api_edit": organisation(owned_api, role=MAINTAINER),
    "api:member-detail": organisation(
        lambda s: {**org(s), "pk": s.membership.pk}, write_role=ADMIN
    ),

Pick the category (``public``, ``account``, ``organisation``, ``staff``,
``invitation``; the module docstring says what each promises), give the
least role that may read (``role``) and write (``write_role``), and add the
sample object your URL needs as a property of ``Samples`` (an object of A,
with A's name in it). A model registered with the admin site needs one sample
in ``ADMIN_OBJECTS``; its admin URLs are generated. A URL without an entry,
or an entry without a URL, fails this test.
"""

import json
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import resolve, reverse

from tenants.models import Membership

from .isolation import (
    ACCOUNT,
    INVITATION,
    OK,
    ORGANISATION,
    PUBLIC,
    REGISTRY,
    STAFF,
    Entry,
    Pattern,
    Samples,
    url_patterns,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PATTERNS = url_patterns()


class Probe:
    """Sends requests to one URL pattern filled with the samples, and collects what
    was wrong with the answers."""

    def __init__(self, pattern: Pattern, entry: Entry, samples: Samples):
        self.pattern = pattern
        self.entry = entry
        self.samples = samples
        self.path = self.path_for(samples)
        self.clients: dict[object, Client] = {}
        self.problems: list[str] = []

    def path_for(self, samples: Samples) -> str:
        kwargs = {name: str(value) for name, value in self.entry.kwargs(samples).items()}
        if self.pattern.key != self.pattern.route:
            path = reverse(self.pattern.key, kwargs=kwargs)
        else:
            path = "/" + _fill(self.pattern.route, kwargs)
        answered_by = resolve(path.split("?")[0]).route
        assert answered_by == self.pattern.route, (
            f"{self.pattern.key}: the sample kwargs {kwargs} give {path}, which {answered_by!r} "
            "answers; fix the entry's kwargs in tests/isolation.py"
        )
        return path

    def client(self, user) -> Client:
        if user not in self.clients:
            client = Client()
            if user is not None:
                client.force_login(user)
            self.clients[user] = client
        return self.clients[user]

    def send(self, user, method: str, *, path=None, htmx=False, samples=None):
        client = self.client(user)
        path = path or self.path
        samples = samples or self.samples
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            return client.get(path, self.entry.query(samples), headers=headers)
        payload = self.entry.payload(samples)
        if self.pattern.is_api:
            return client.generic(
                method, path, json.dumps(payload), content_type="application/json", headers=headers
            )
        if method == "POST":
            return client.post(path, payload, headers=headers)
        return client.generic(
            method,
            path,
            urlencode(payload),
            content_type="application/x-www-form-urlencoded",
            headers=headers,
        )

    def variants(self):
        """Every method, and for portal pages each again as an htmx request. The admin
        site gets GET and POST only: one gate (AdminSite.admin_view) answers every
        method there, and it has over a hundred URLs to probe."""
        if self.entry.category == STAFF:
            yield from (("GET", False), ("POST", False))
            return
        for method in METHODS:
            yield method, False
            if not self.pattern.is_api:
                yield method, True

    def fail(self, who: str, method: str, htmx: bool, response, expected: str) -> None:
        how = f"{method}{' (htmx)' if htmx else ''}"
        where = response.get("Location", "")
        self.problems.append(
            f"{how} {self.path} as {who}: {response.status_code}"
            f"{' -> ' + where if where else ''}, expected {expected}"
        )

    def refuse_404(self, who: str, method: str, htmx: bool, response, allowed_user) -> None:
        """404, or 405 when nobody may use the method at all."""
        if response.status_code == 404:
            return
        if response.status_code == 405 and self.send(allowed_user, method).status_code == 405:
            return
        self.fail(who, method, htmx, response, "404")

    def no_markers(self, who: str, method: str, htmx: bool, response) -> None:
        body = _body(response)
        leaked = [marker for marker in self.samples.markers() if marker in body]
        if leaked:
            self.fail(who, method, htmx, response, f"no data of A, but it shows {leaked}")

    def no_server_error(self, who: str, method: str, htmx: bool, response) -> None:
        if response.status_code >= 500:
            self.fail(who, method, htmx, response, "no server error")


def _fill(route: str, kwargs: dict[str, str]) -> str:
    """A path for an unnamed pattern: its converters and named groups replaced."""
    path = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", lambda m: kwargs[m.group(1)], route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: kwargs[m.group(1)], path)
    return path.replace("^", "").replace("$", "")


def _body(response: HttpResponse) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _sent_to_login(response, *login_paths: str) -> bool:
    location = response.get("Location") or response.get("HX-Redirect") or ""
    return response.status_code in (200, 204, 301, 302, 303) and location.startswith(login_paths)


def _refused_by_admin(response) -> bool:
    """403, 404 or a redirect to a login page or to the admin index (which refuses in turn)."""
    if response.status_code in (403, 404):
        return True
    location = (response.get("Location") or "").split("?")[0]
    refusing = {reverse("admin:login"), reverse("admin:index"), resolve_url(settings.LOGIN_URL)}
    return response.status_code in (301, 302, 303) and location in refusing


# --- The checks -------------------------------------------------------------------------


def _check_anonymous(probe: Probe) -> None:
    login = resolve_url(settings.LOGIN_URL)
    category = probe.entry.category
    for method, htmx in probe.variants():
        response = probe.send(None, method, htmx=htmx)
        probe.no_markers("anonymous", method, htmx, response)
        if category == PUBLIC:
            probe.no_server_error("anonymous", method, htmx, response)
        elif category == STAFF:
            if not _refused_by_admin(response):
                probe.fail("anonymous", method, htmx, response, "a login page, 403 or 404")
        elif probe.pattern.is_api:
            if response.status_code not in (401, 403):
                probe.fail("anonymous", method, htmx, response, "401 or 403")
        elif not _sent_to_login(response, login):
            probe.fail("anonymous", method, htmx, response, f"a redirect to {login}")


def _check_outsider(probe: Probe) -> None:
    samples, entry = probe.samples, probe.entry
    outsider = samples.cast.outsider
    if entry.category == STAFF:
        # Not staff, however much power in A: the owner is refused like B's member.
        for who, user in (("outsider", outsider), ("A's owner", samples.cast.owner)):
            for method, htmx in probe.variants():
                response = probe.send(user, method, htmx=htmx)
                if not _refused_by_admin(response):
                    probe.fail(who, method, htmx, response, "a login page, 403 or 404")
                if user is outsider:
                    probe.no_markers(who, method, htmx, response)
        return
    if entry.category == INVITATION:
        _check_outsider_invitation(probe)
        return
    names_an_object = bool(entry.kwargs(samples))
    for method, htmx in probe.variants():
        response = probe.send(outsider, method, htmx=htmx)
        probe.no_markers("outsider", method, htmx, response)
        if entry.category == ORGANISATION or (entry.category == ACCOUNT and names_an_object):
            allowed = samples.user(entry.needed_role(method))
            probe.refuse_404("outsider", method, htmx, response, allowed)
        else:
            probe.no_server_error("outsider", method, htmx, response)


def _check_outsider_invitation(probe: Probe) -> None:
    samples = probe.samples
    outsider = samples.cast.outsider
    forged = samples.with_forged_invitation_token()
    forged_path = probe.path_for(forged)
    for method, htmx in probe.variants():
        response = probe.send(outsider, method, path=forged_path, htmx=htmx, samples=forged)
        probe.no_markers("outsider with a forged token", method, htmx, response)
        if response.status_code == 405 and probe.send(samples.invitee, method).status_code == 405:
            continue
        if response.status_code != 404:
            probe.fail("outsider with a forged token", method, htmx, response, "404")
    # A's real token in the wrong hands: it shows what it invites to, but never admits.
    response = probe.send(outsider, "POST")
    if response.status_code != 403:
        probe.fail("outsider with A's token", "POST", False, response, "403")
    if Membership.objects.filter(organisation=samples.org, user=outsider).exists():
        probe.problems.append(f"POST {probe.path} made B's member a member of A")


def _check_lower(probe: Probe) -> None:
    samples, entry = probe.samples, probe.entry
    for method in METHODS:
        for role in entry.lower_roles(method):
            user = samples.user(role)
            response = probe.send(user, method)
            if response.status_code in (403, 404):
                continue
            allowed = samples.user(entry.needed_role(method))
            if response.status_code == 405 and probe.send(allowed, method).status_code == 405:
                continue
            probe.fail(role, method, False, response, "403 or 404")


def _control_user(samples: Samples, entry: Entry):
    if entry.category == PUBLIC:
        return None
    if entry.category == STAFF:
        return samples.staff
    if entry.category == INVITATION:
        return samples.invitee
    return samples.user(entry.role)


def _check_control(probe: Probe) -> None:
    samples, entry = probe.samples, probe.entry
    user = _control_user(samples, entry)
    who = "the allowed user" if user is None else str(user)
    response = probe.send(user, "GET")
    if response.status_code == 405 and entry.control == OK:
        # POST only: a POST with the entry's payload must reach the view.
        write_user = user
        if entry.category == ORGANISATION:
            write_user = samples.user(entry.needed_role("POST"))
        response = probe.send(write_user, "POST")
        if response.status_code in (401, 403, 404, 405) or response.status_code >= 500:
            probe.fail(str(write_user), "POST", False, response, "the view to answer")
        return
    if response.status_code not in entry.control:
        expected = "2xx or 3xx" if entry.control == OK else entry.control
        probe.fail(who, "GET", False, response, str(expected))


CHECKS = {
    PUBLIC: (_check_anonymous, _check_outsider, _check_control),
    ACCOUNT: (_check_anonymous, _check_outsider, _check_control),
    ORGANISATION: (_check_anonymous, _check_outsider, _check_lower, _check_control),
    STAFF: (_check_anonymous, _check_outsider, _check_control),
    INVITATION: (_check_anonymous, _check_outsider, _check_control),
}


@pytest.mark.parametrize("pattern", PATTERNS, ids=[pattern.key for pattern in PATTERNS])
def test_isolation(pattern: Pattern, cast):
    entry = REGISTRY.get(pattern.key)
    if entry is None:
        pytest.fail(
            f"The URL pattern {pattern.key!r} ({pattern.route}) has no entry in "
            "tests/isolation.py REGISTRY: add one saying its category and how to build its "
            "kwargs from the samples of organisation A (see tests/test_isolation.py)."
        )
    samples = Samples(cast)
    if entry.category in (PUBLIC, ACCOUNT):
        # Lists and searches could show any of A's objects: all must exist, or a leak hides.
        samples.create_all()
    entry.setup(samples)
    probe = Probe(pattern, entry, samples)
    # The positive control goes last: its POST may change or delete the samples.
    for check in CHECKS[entry.category]:
        check(probe)
    assert not probe.problems, f"{pattern.key}:\n  " + "\n  ".join(probe.problems)


def test_every_entry_names_a_url_pattern():
    keys = {pattern.key for pattern in PATTERNS}
    stale = sorted(set(REGISTRY) - keys)
    assert not stale, f"tests/isolation.py has entries for URLs that no longer exist: {stale}"
