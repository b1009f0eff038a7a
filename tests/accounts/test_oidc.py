"""Single sign-on through a generic OpenID Connect provider, configured by environment."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings
from django.urls import reverse

from .conftest import computed_settings


def test_no_provider_without_oidc_variables():
    result = computed_settings("SOCIALACCOUNT_PROVIDERS")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"SOCIALACCOUNT_PROVIDERS": {}}


def test_provider_from_oidc_variables():
    result = computed_settings(
        "SOCIALACCOUNT_PROVIDERS",
        OIDC_SERVER_URL="https://id.example.test/realms/acme",
        OIDC_CLIENT_ID="portico",
        OIDC_CLIENT_SECRET="s3cret",
        OIDC_PROVIDER_ID="acme",
        OIDC_PROVIDER_NAME="Acme SSO",
    )

    assert result.returncode == 0, result.stderr
    providers = json.loads(result.stdout)["SOCIALACCOUNT_PROVIDERS"]
    assert providers == {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "acme",
                    "name": "Acme SSO",
                    "client_id": "portico",
                    "secret": "s3cret",
                    "settings": {
                        "server_url": "https://id.example.test/realms/acme",
                        "token_auth_method": "client_secret_basic",
                    },
                }
            ],
        }
    }


def test_server_url_without_client_id_stops_the_start():
    result = computed_settings(
        "SOCIALACCOUNT_PROVIDERS", OIDC_SERVER_URL="https://id.example.test/realms/acme"
    )

    assert result.returncode != 0
    assert "OIDC_CLIENT_ID" in result.stderr


# --- The sign-in itself, against a discovery document served on 127.0.0.1 ---------


class DiscoveryHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path != "/realms/acme/.well-known/openid-configuration":
            self.send_error(404)
            return
        issuer = f"http://127.0.0.1:{self.server.server_port}/realms/acme"
        body = json.dumps(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/protocol/openid-connect/auth",
                "token_endpoint": f"{issuer}/protocol/openid-connect/token",
                "userinfo_endpoint": f"{issuer}/protocol/openid-connect/userinfo",
                "jwks_uri": f"{issuer}/protocol/openid-connect/certs",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        return


@pytest.fixture(scope="session")
def identity_provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), DiscoveryHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def oidc_configured(identity_provider):
    server_url = f"http://127.0.0.1:{identity_provider.server_port}/realms/acme"
    providers = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "acme",
                    "name": "Acme SSO",
                    "client_id": "portico",
                    "secret": "s3cret",
                    "settings": {"server_url": server_url},
                }
            ],
        }
    }
    identity_provider.requests.clear()
    with override_settings(SOCIALACCOUNT_PROVIDERS=providers):
        yield identity_provider


def test_login_page_has_no_sso_button_by_default(client, db):
    page = client.get(reverse("account_login"))

    assert b"/accounts/oidc/" not in page.content


def test_login_page_shows_the_provider_button(client, db, oidc_configured):
    page = client.get(reverse("account_login"))

    assert page.status_code == 200
    assert b"Continue with Acme SSO" in page.content
    assert b'href="/accounts/oidc/acme/login/?process=login"' in page.content


def test_sso_login_redirects_to_the_discovered_authorization_endpoint(client, db, oidc_configured):
    start = "/accounts/oidc/acme/login/?process=login"
    confirm = client.get(start)
    assert confirm.status_code == 200
    assert b"Acme SSO" in confirm.content

    response = client.post(start)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    port = oidc_configured.server_port
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"http://127.0.0.1:{port}/realms/acme/protocol/openid-connect/auth"
    )
    query = parse_qs(location.query)
    assert query["client_id"] == ["portico"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/accounts/oidc/acme/login/callback/"]
    assert "openid" in query["scope"][0].split()
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0]
    assert oidc_configured.requests == ["/realms/acme/.well-known/openid-configuration"]
