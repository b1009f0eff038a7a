"""``Authorization: Bearer pat_...`` for the REST API."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .services.tokens import token_authenticate


class AccessTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as 'Bearer <token>'.")
        try:
            presented = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        token = token_authenticate(presented=presented)
        if token is None:
            raise exceptions.AuthenticationFailed("The token is not valid, expired or revoked.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class AccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = AccessTokenAuthentication
    name = "accessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (`pat_...`) created in the portal or API.",
        }
