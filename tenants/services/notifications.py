"""The in-portal inbox. E-mail and webhooks build on the same calls later."""

from collections.abc import Iterable

from django.utils import timezone

from ..models import Notification, Organisation, User


def notify(
    *,
    users: Iterable[User],
    organisation: Organisation | None,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
) -> list[Notification]:
    """Put one notification in each user's inbox (once per user)."""
    seen: set[int] = set()
    rows = []
    for user in users:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                user=user,
                organisation=organisation,
                kind=kind,
                title=title[:200],
                body=body,
                url=url,
            )
        )
    return Notification.objects.bulk_create(rows)


def notifications_mark_read(*, user: User, pk: int | None = None) -> int:
    """Mark one (or, without ``pk``, every) unread notification of ``user`` as read."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())
