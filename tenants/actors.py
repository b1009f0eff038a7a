"""Who did something: a user in the browser, a user through a token, or the system."""

from dataclasses import dataclass

from .models import AccessToken, AuditEvent, User


@dataclass(frozen=True)
class Actor:
    kind: str
    user: User | None = None
    token: AccessToken | None = None

    @classmethod
    def for_user(cls, user: User) -> "Actor":
        return cls(kind=AuditEvent.ActorType.USER, user=user)

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=AuditEvent.ActorType.SYSTEM)

    @classmethod
    def from_request(cls, request) -> "Actor":
        token = getattr(request, "auth", None)
        if isinstance(token, AccessToken):
            return cls(kind=AuditEvent.ActorType.TOKEN, user=request.user, token=token)
        return cls.for_user(request.user)

    @property
    def label(self) -> str:
        if self.kind == AuditEvent.ActorType.SYSTEM:
            return "system"
        if self.token is not None:
            return f"{self.user.email} via {self.token.display_prefix}"
        return self.user.email
