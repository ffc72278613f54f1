"""The staff groups of the console and what each may do.

marketing: view everything and send (manage audiences and API keys); operator: that, and resend
and cancel recipients; auditor: view only. The two action permissions are custom permissions on
the recipient model: `messaging.resend_recipient` and `messaging.cancel_recipient`.
"""

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType

RESEND = "resend_recipient"
CANCEL = "cancel_recipient"
ACTION_PERMISSIONS = {
    RESEND: "Can resend recipients as new attempts",
    CANCEL: "Can cancel recipients not yet submitted",
}

VIEW_MODELS = {
    "messaging": ["smsrequest", "smsmessage", "recipient", "recipientevent", "provider", "apikey", "inboundsms"],
    "audiences": ["member", "segment", "segmentcondition", "audienceattribute"],
    "ops": ["trafficminute"],
}
SEND_MODELS = {
    "audiences": ["member", "segment", "segmentcondition", "audienceattribute"],
    "messaging": ["apikey"],
}


def _content_type(app_label: str, model: str, using: str) -> ContentType:
    return ContentType.objects.db_manager(using).get_or_create(app_label=app_label, model=model)[0]


def _permission(app_label: str, model: str, codename: str, name: str, using: str) -> Permission:
    content_type = _content_type(app_label, model, using)
    return Permission.objects.db_manager(using).get_or_create(
        content_type=content_type, codename=codename, defaults={"name": name}
    )[0]


def _model_permissions(models: dict[str, list[str]], actions: list[str], using: str) -> list[Permission]:
    found = []
    for app_label, names in models.items():
        for model in names:
            for action in actions:
                found.append(_permission(app_label, model, f"{action}_{model}", f"Can {action} {model}", using=using))
    return found


def console_groups_setup(*, using: str = "default") -> dict[str, int]:
    """Create (or bring up to date) the three groups; returns how many permissions each has."""
    view = _model_permissions(VIEW_MODELS, ["view"], using)
    send = _model_permissions(SEND_MODELS, ["add", "change"], using)
    actions = [
        _permission("messaging", "recipient", codename, name, using) for codename, name in ACTION_PERMISSIONS.items()
    ]
    wanted = {"auditor": view, "marketing": view + send, "operator": view + send + actions}
    counts = {}
    for name, permissions in wanted.items():
        group = Group.objects.db_manager(using).get_or_create(name=name)[0]
        group.permissions.add(*permissions)
        counts[name] = group.permissions.count()
    return counts
