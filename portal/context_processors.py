from tenants.selectors import membership_list_for_user, notification_unread_count


def shell(request) -> dict:
    """What the base layout needs: the organisations for the switcher, the current one."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "switcher_memberships": membership_list_for_user(user=user),
        "current_organisation": getattr(request, "organisation", None),
        "current_membership": getattr(request, "membership", None),
        "unread_notifications": notification_unread_count(user=user),
    }
