from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _install_periodic_tasks(sender, using="default", **kwargs) -> None:
    from .schedule import periodic_tasks_install

    periodic_tasks_install(using=using)


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .observability import install_secret_redaction

        install_secret_redaction()
        post_migrate.connect(
            _install_periodic_tasks, sender=self, dispatch_uid="portal.install_periodic_tasks"
        )
