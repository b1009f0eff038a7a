"""Who did something: a user in the browser, a user through a token, platform staff in
the admin site, or the system."""

from dataclasses import dataclass

from .models import AccessToken, AuditEvent, User


@dataclass(frozen=True)
class Actor:
    kind: str
    user: User | None = None
    token: AccessToken | None = None
    # Platform staff acting from the admin site: recorded as themselves (a user),
    # labelled as staff, and allowed past tenant role checks that say so.
    staff: bool = False

    @classmethod
    def for_user(cls, user: User) -> "Actor":
        return cls(kind=AuditEvent.ActorType.USER, user=user)

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=AuditEvent.ActorType.SYSTEM)

    @classmethod
    def for_staff(cls, user: User) -> "Actor":
        """Staff in the admin site; only the admin builds these, for ``is_staff`` users."""
        if not (user.is_active and user.is_staff):
            raise ValueError("Only active platform staff act as staff.")
        return cls(kind=AuditEvent.ActorType.USER, user=user, staff=True)

    @property
    def is_platform_staff(self) -> bool:
        return self.staff and self.user is not None and self.user.is_active and self.user.is_staff

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
        if self.staff:
            return f"{self.user.email} (platform staff)"
        return self.user.email
