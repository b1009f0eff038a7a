"""The in-portal inbox, and the e-mail copy of what matters.

``notify`` writes the notifications inside the caller's transaction; with
``email=True`` a worker mails them after commit (ids only cross the broker).
"""

from collections.abc import Iterable

from django.db import transaction
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
    email: bool = False,
) -> list[Notification]:
    """Put one notification in each user's inbox (once per user); mail it too if asked."""
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
    created = Notification.objects.bulk_create(rows)
    if email and created:
        from ..tasks import send_notification_emails

        ids = [n.pk for n in created]
        transaction.on_commit(lambda: send_notification_emails.delay(ids))
    return created


def notifications_mark_read(*, user: User, pk: int | None = None) -> int:
    """Mark one (or, without ``pk``, every) unread notification of ``user`` as read."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())
