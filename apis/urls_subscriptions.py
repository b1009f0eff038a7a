from django.urls import path

from . import views_subscriptions as views

urlpatterns = [
    path("o/<slug:org>/inbox/", views.inbox, name="inbox"),
    path("o/<slug:org>/subscriptions/<int:pk>/", views.subscription_detail, name="subscription"),
    path("o/<slug:org>/applications/<int:pk>/", views.application_detail, name="application"),
]
