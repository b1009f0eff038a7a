from django import template

register = template.Library()


@register.filter
def version_label(label: str) -> str:
    """ "1.2.0" reads as "v1.2.0"; a label that is not a number ("V1", "beta") as itself."""
    label = str(label)
    return f"v{label}" if label[:1].isdigit() else label
