"""The one audit writer."""

from django.db import models, transaction

from portal.observability import current_request_id

from ..actors import Actor
from ..models import AuditEvent, Organisation


def audit_record(
    *,
    actor: Actor,
    organisation: Organisation | None,
    action: str,
    target: models.Model,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one audit event. Call it inside the transaction of the write it records."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of its write")
    return AuditEvent.objects.create(
        organisation=organisation,
        actor_type=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label[:200],
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=str(target)[:200],
        before=before,
        after=after,
        request_id=current_request_id(),
    )
