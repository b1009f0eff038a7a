"""Saving a row whose name or slug must be unique. The form's check can pass for two
requests at once; the database's constraint then refuses one, and that is the user's
error on the field, not a server error."""

from django.db import IntegrityError, transaction
from django.db.models import Model

from ..errors import ValidationFailed


def save_unique(instance: Model, *, field: str, message: str) -> None:
    """Save ``instance`` in a savepoint; a broken unique constraint becomes a
    ValidationFailed on ``field`` ("That name is taken.") with ``message``."""
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ValidationFailed(f"That {field} is taken.", fields={field: [message]}) from exc
