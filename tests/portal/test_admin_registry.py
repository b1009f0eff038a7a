"""Every model of Portico's own apps has a page in the admin site, so staff can look at
anything the portal stores and a new model cannot be forgotten."""

from django.apps import apps
from django.contrib import admin

PROJECT_APPS = ("portal", "tenants", "apis", "analytics")

# Models left out on purpose. Each is a pure internal with a reason that holds for good.
NOT_IN_ADMIN = {
    # The request and Lambda event tables: created by migration (partitioned by month on
    # PostgreSQL, keyed (ts, source, event id), no primary key Django could address), and
    # millions of rows a day; the admin shows them through the rollups and import runs.
    "analytics.requestevent",
    "analytics.functioninvocation",
}


def _project_models() -> dict[str, type]:
    return {
        model._meta.label_lower: model
        for app_label in PROJECT_APPS
        for model in apps.get_app_config(app_label).get_models()
    }


def test_every_model_of_the_project_is_registered_in_the_admin():
    models = _project_models()
    missing = sorted(
        label
        for label, model in models.items()
        if label not in NOT_IN_ADMIN and not admin.site.is_registered(model)
    )
    assert missing == [], f"register these models in their app's admin.py: {missing}"


def test_exclusions_name_existing_unregistered_models():
    models = _project_models()
    assert NOT_IN_ADMIN - set(models) == set(), "an exclusion names a model that is gone"
    registered = sorted(label for label in NOT_IN_ADMIN if admin.site.is_registered(models[label]))
    assert registered == [], f"registered now, drop them from NOT_IN_ADMIN: {registered}"
