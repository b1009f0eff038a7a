from django.apps import AppConfig


class ApisConfig(AppConfig):
    name = "apis"
    default_auto_field = "django.db.models.BigAutoField"
