from django.apps import AppConfig


class ApisConfig(AppConfig):
    name = "apis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Gateway and subscription models have admin modules of their own, beside apis.admin.
        from . import admin_gateways, admin_subscriptions  # noqa: F401
