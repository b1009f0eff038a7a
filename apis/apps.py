from django.apps import AppConfig


class ApisConfig(AppConfig):
    name = "apis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Gateway models have their own admin module, registered beside apis.admin.
        from . import admin_gateways  # noqa: F401
