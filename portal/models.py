from django.db import models


class WorkerHeartbeat(models.Model):
    """The last beat of one Celery worker: proof that tasks are consumed."""

    name = models.CharField(max_length=200, unique=True)
    last_seen = models.DateTimeField()
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.name} at {self.last_seen:%Y-%m-%d %H:%M:%S}"
