"""The staff groups of the console and what each may do: exactly the Django permissions that the
API routes (`messaging/api/access.py`) and the admin's pages and actions ask for.

- auditor: views everything but API keys' and providers' secrets (which no page shows); writes
  nothing.
- marketing: what the auditor has, and sends (`messaging.add_smsrequest`, for the send API with
  HTTP Basic), builds audiences (members, custom attributes, segments and their conditions: add
  and change; removing a segment's condition is part of changing the segment) and issues and edits
  API keys. No deletes: a member or a segment is removed by a superuser.
- operator: what marketing has, and resends and cancels recipients (`messaging.resend_recipient`,
  `messaging.cancel_recipient`: cancelling another partner's request needs the latter too) and
  configures providers (`messaging.add_provider`, `messaging.change_provider`; a provider's host,
  URL or port changes only with its secrets entered again).

No group posts inbound texts (`messaging.add_inboundsms`): a STOP or START is the member's own.
`console_groups_setup` runs after every `migrate` and by `manage.py setup_groups`, and sets each
group's permissions to exactly these: a permission an older release gave a group is taken away.
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
MARKETING_WRITES = {
    ("messaging", "smsrequest"): ["add"],
    ("messaging", "apikey"): ["add", "change"],
    ("audiences", "member"): ["add", "change"],
    ("audiences", "audienceattribute"): ["add", "change"],
    ("audiences", "segment"): ["add", "change"],
    ("audiences", "segmentcondition"): ["add", "change", "delete"],
}
OPERATOR_WRITES = {
    ("messaging", "provider"): ["add", "change"],
}
GROUPS = ("auditor", "marketing", "operator")


def _content_type(app_label: str, model: str, using: str) -> ContentType:
    return ContentType.objects.db_manager(using).get_or_create(app_label=app_label, model=model)[0]


def _permission(app_label: str, model: str, codename: str, name: str, using: str) -> Permission:
    content_type = _content_type(app_label, model, using)
    return Permission.objects.db_manager(using).get_or_create(
        content_type=content_type, codename=codename, defaults={"name": name}
    )[0]


def _model_permissions(actions_by_model: dict[tuple[str, str], list[str]], using: str) -> list[Permission]:
    return [
        _permission(app_label, model, f"{action}_{model}", f"Can {action} {model}", using=using)
        for (app_label, model), actions in actions_by_model.items()
        for action in actions
    ]


def group_permissions(*, using: str = "default") -> dict[str, list[Permission]]:
    """The permissions each console group carries, by group name."""
    viewed = {(app_label, model): ["view"] for app_label, models in VIEW_MODELS.items() for model in models}
    view = _model_permissions(viewed, using)
    marketing = view + _model_permissions(MARKETING_WRITES, using)
    actions = [
        _permission("messaging", "recipient", codename, name, using) for codename, name in ACTION_PERMISSIONS.items()
    ]
    operator = marketing + actions + _model_permissions(OPERATOR_WRITES, using)
    return {"auditor": view, "marketing": marketing, "operator": operator}


def console_groups_setup(*, using: str = "default") -> dict[str, int]:
    """Create the three groups, or bring them up to date; returns how many permissions each has."""
    counts = {}
    for name, permissions in group_permissions(using=using).items():
        group = Group.objects.db_manager(using).get_or_create(name=name)[0]
        group.permissions.set(permissions)
        counts[name] = group.permissions.count()
    return counts
