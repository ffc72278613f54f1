"""Least privilege over the whole URL conf and the whole admin (issue 16, CONTRACT section 7).

Every route the resolver lists (the admin aside) is walked as `tests/test_access.py` walks it for
its 401s, and each of its methods is called by a partner key with the default scopes, by a key
with exactly the route's scope and by a user of each console group. A route added later that
does not state its `access` makes the first test fail; one that states it is checked by the rest
without being named here. The admin is walked the same way: each registered ModelAdmin, each
group, each of add, change, delete and every action.
"""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import resolve
from rest_framework.request import Request
from rest_framework.test import APIClient
from rest_framework.views import APIView

from messaging.api.access import GatewayAccess, view_access
from messaging.api.authentication import ApiKeyAuthentication
from messaging.models import DEFAULT_SCOPES, SCOPES
from messaging.services.api_keys import api_key_create
from ops.groups import GROUPS
from tests.test_access import api_routes, partner_client

# Routes open by design, by URL name: ops probes, the providers' callbacks (checked by the
# provider's own signature) and the schema views (credentials needed, no partner scope).
OPEN_ROUTES = {
    "healthz",
    "readyz",
    "metrics",
    "twilio-status",
    "twilio-inbound",
    "nexmo-status",
    "nexmo-inbound",
    "api-schema",
    "api-schema-swagger",
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
READ_METHODS = {"GET", "HEAD", "OPTIONS"}

# What the issue names: a new key is refused these routes, and takes these.
DEFAULT_KEY_REFUSED = {
    "audience-list",
    "audience-detail",
    "segment-list",
    "segment-detail",
    "sms-config",
    "sms-inbound",
}
DEFAULT_KEY_ALLOWED = {"sms-send", "sms-request-detail", "sms-request-cancel", "sms-status"}

# Which console groups pass each route's gate; a route not listed here is checked against the
# permissions the groups carry.
ALL = set(GROUPS)
WRITERS = {"marketing", "operator"}
STAFF_EXPECTED = {
    ("sms-send", "POST"): WRITERS,
    ("sms-request-detail", "GET"): ALL,
    ("sms-request-cancel", "DELETE"): {"operator"},
    ("sms-status", "POST"): ALL,
    ("sms-inbound", "POST"): set(),
    ("sms-config", "GET"): ALL,
    ("sms-config", "POST"): {"operator"},
    ("audience-list", "GET"): ALL,
    ("audience-list", "POST"): WRITERS,
    ("audience-detail", "GET"): ALL,
    ("audience-detail", "PUT"): WRITERS,
    ("audience-detail", "DELETE"): set(),
    ("segment-list", "GET"): ALL,
    ("segment-list", "POST"): WRITERS,
    ("segment-detail", "GET"): ALL,
    ("segment-detail", "PUT"): WRITERS,
    ("segment-detail", "DELETE"): set(),
}


def view_class(path: str):
    return getattr(resolve(path).func, "cls", None)


def key_refusal(path: str) -> int:
    """What a partner key outside a route's scope gets: 403, or 401 where the route does not
    take partner keys at all (the access-token route reads HTTP Basic only)."""
    authenticators = getattr(view_class(path), "authentication_classes", ())
    return 403 if ApiKeyAuthentication in authenticators else 401


def view_methods(view) -> list[str]:
    """The HTTP methods a view answers (OPTIONS and HEAD go as GET)."""
    return [method for method in METHODS if hasattr(view, method.lower())]


def _routes():
    """(URL name, a concrete path, the view class): each view once, by its path without prefix."""
    found = {}
    for path in api_routes():
        match = resolve(path)
        found.setdefault((match.url_name, match.func), path)
    return [(name, path, getattr(func, "cls", None)) for (name, func), path in sorted(found.items(), key=str)]


ROUTES = _routes()
GUARDED = [(name, path, view) for name, path, view in ROUTES if name not in OPEN_ROUTES]
CALLS = [(name, path, method) for name, path, view in GUARDED for method in view_methods(view)]


def call(api, method: str, path: str):
    return api.generic(method, path, "{}", content_type="application/json")


def write(method: str, access) -> bool:
    """A call that changes something: any method but a read, unless it asks only view permissions
    (Fetch SMS Status is a POST that reads)."""
    if method in READ_METHODS:
        return False
    return any(not permission.split(".", 1)[1].startswith("view_") for permission in access.permissions)


# --- Every route states who may call it -------------------------------------------------------


def test_the_walk_finds_the_routes_the_issue_names():
    names = {name for name, _, _ in ROUTES}
    assert DEFAULT_KEY_REFUSED | DEFAULT_KEY_ALLOWED <= names
    assert {"healthz", "metrics", "twilio-status", "api-schema"} <= names


@pytest.mark.parametrize(("name", "path", "view"), ROUTES, ids=[path for _, path, _ in ROUTES])
def test_every_route_states_its_access_or_is_named_open(name, path, view):
    if name in OPEN_ROUTES:
        return
    assert view is not None and issubclass(view, APIView), f"{path} ({name}) is not an API view that states access"
    assert any(issubclass(permission, GatewayAccess) for permission in view.permission_classes), path
    methods = view_methods(view)
    assert methods, path
    for method in methods:
        assert view_access(view, method) is not None, f"{method} {path} states no access"


def test_a_route_that_states_nothing_is_refused_to_everyone(rf, db):
    class Unstated(APIView):
        def get(self, request):
            raise AssertionError("reached")

    request = Request(rf.get("/unstated"))
    request.user = get_user_model().objects.create_superuser("root", "root@example.com", None)
    assert GatewayAccess().has_permission(request, Unstated()) is False


def test_a_route_without_access_is_one_of_the_named_open_routes():
    unstated = {name for name, _, view in ROUTES if view is None or not hasattr(view, "access")}
    assert unstated <= OPEN_ROUTES


# --- Partner keys: scopes -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "method"), CALLS, ids=[f"{m} {p}" for _, p, m in CALLS])
def test_a_key_with_the_default_scopes_passes_only_the_send_and_status_routes(name, path, method):
    access = view_access(view_class(path), method)
    api = partner_client(api_key_create(name="new partner")[1])
    answer = call(api, method, path).status_code
    refused = access.scope is None or access.scope not in DEFAULT_SCOPES
    if name in DEFAULT_KEY_REFUSED:
        assert refused, f"{method} {path} must not be open to a new key"
    if name in DEFAULT_KEY_ALLOWED:
        assert not refused, f"{method} {path} must be open to a new key"
    if refused:
        assert answer == key_refusal(path), f"{method} {path}: {answer}"
    else:
        assert answer != 403 and answer < 500, f"{method} {path}: {answer}"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "method"), CALLS, ids=[f"{m} {p}" for _, p, m in CALLS])
def test_a_key_with_the_routes_scope_passes_the_gate_and_one_without_it_does_not(name, path, method):
    access = view_access(view_class(path), method)
    if access.scope is None:
        every_scope = partner_client(api_key_create(name="all", scopes=list(SCOPES))[1])
        assert call(every_scope, method, path).status_code == key_refusal(path)
        return
    with_scope = partner_client(api_key_create(name="with", scopes=[access.scope])[1])
    answer = call(with_scope, method, path).status_code
    assert answer not in (401, 403) and answer < 500, f"{method} {path}: {answer}"
    others = [scope for scope in SCOPES if scope != access.scope]
    without = partner_client(api_key_create(name="without", scopes=others)[1])
    assert call(without, method, path).status_code == 403


# --- Staff: the console groups ----------------------------------------------------------------


def staff_client(group: str):
    user = get_user_model().objects.create_user(f"{group}-api", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    api = APIClient()
    api.force_authenticate(user)
    return api


def group_permissions(group: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=group).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "method"), CALLS, ids=[f"{m} {p}" for _, p, m in CALLS])
def test_each_group_passes_a_route_exactly_when_it_carries_the_routes_permissions(name, path, method):
    access = view_access(view_class(path), method)
    for group in GROUPS:
        carries = set(access.permissions) <= group_permissions(group)
        if (name, method) in STAFF_EXPECTED:
            assert carries == (group in STAFF_EXPECTED[(name, method)]), f"{group}: {method} {path}"
        answer = call(staff_client(group), method, path).status_code
        if carries:
            assert answer != 403 and answer < 500, f"{group}: {method} {path}: {answer}"
        else:
            assert answer == 403, f"{group}: {method} {path}: {answer}"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path", "method"), CALLS, ids=[f"{m} {p}" for _, p, m in CALLS])
def test_the_auditor_gets_403_on_every_write(name, path, method):
    access = view_access(view_class(path), method)
    if not write(method, access):
        return
    assert call(staff_client("auditor"), method, path).status_code == 403


@pytest.mark.django_db
def test_the_staff_flag_alone_grants_nothing():
    user = get_user_model().objects.create_user("flag-only", is_staff=True)
    api = APIClient()
    api.force_authenticate(user)
    for _, path, method in CALLS:
        if view_access(view_class(path), method).any_user:
            continue  # open to every active gateway user by design (the access token)
        assert call(api, method, path).status_code == 403, f"{method} {path}"


# --- The admin: every ModelAdmin, every group --------------------------------------------------

CUSTOM_ACTION_PERMISSIONS = {
    "resend": "messaging.resend_recipient",
    "cancel": "messaging.cancel_recipient",
    "lift_opt_out": "audiences.lift_opt_out",
}
MODEL_ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
GATEWAY_APPS = {"messaging", "audiences", "ops"}
# The gateway's own pages; the others (users and groups, django-axes' lockouts) are for
# superusers: no group may open them, so their actions are out of every group's reach.
GATEWAY_ADMINS = [(model, model_admin) for model, model_admin in MODEL_ADMINS if model._meta.app_label in GATEWAY_APPS]
OTHER_ADMINS = [(model, model_admin) for model, model_admin in MODEL_ADMINS if model not in dict(GATEWAY_ADMINS)]


def action_permission(model, permission: str) -> str:
    """The Django permission an admin action's `permissions=[...]` entry stands for."""
    if permission in ("add", "change", "delete", "view"):
        return f"{model._meta.app_label}.{permission}_{model._meta.model_name}"
    assert permission in CUSTOM_ACTION_PERMISSIONS, f"unknown action permission {permission!r}: map it here"
    return CUSTOM_ACTION_PERMISSIONS[permission]


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def group_member(group: str):
    user = get_user_model().objects.create_user(f"{group}-console", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return get_user_model().objects.get(pk=user.pk)  # a fresh permission cache


@pytest.mark.parametrize(("model", "model_admin"), GATEWAY_ADMINS, ids=[m._meta.label for m, _ in GATEWAY_ADMINS])
def test_every_admin_action_states_its_permissions(model, model_admin):
    for func, name, _ in model_admin._get_base_actions():
        permissions = getattr(func, "allowed_permissions", ())
        assert permissions, f"{model._meta.label}: the action {name} states no permission"
        for permission in permissions:
            action_permission(model, permission)


@pytest.mark.django_db
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize(("model", "model_admin"), MODEL_ADMINS, ids=[m._meta.label for m, _ in MODEL_ADMINS])
def test_the_admin_grants_a_group_no_more_than_its_permissions(model, model_admin, group):
    user = group_member(group)
    request = admin_request(user)
    label, name = model._meta.app_label, model._meta.model_name
    for verb, allowed in (
        ("add", model_admin.has_add_permission(request)),
        ("change", model_admin.has_change_permission(request)),
        ("delete", model_admin.has_delete_permission(request)),
        ("view", model_admin.has_view_permission(request)),
    ):
        if allowed:
            assert user.has_perm(f"{label}.{verb}_{name}"), f"{group} may {verb} {model._meta.label}"
    if not model_admin.has_view_or_change_permission(request):
        return  # the change list, and with it every action, answers 403
    available = model_admin.get_actions(request)
    for func, action, _ in model_admin._get_base_actions():
        needed = {action_permission(model, permission) for permission in func.allowed_permissions}
        assert (action in available) == user.has_perms(needed), f"{group}: {model._meta.label} {action}"


@pytest.mark.django_db
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize(("model", "model_admin"), OTHER_ADMINS, ids=[m._meta.label for m, _ in OTHER_ADMINS])
def test_no_group_opens_the_pages_outside_the_gateway(model, model_admin, group):
    request = admin_request(group_member(group))
    assert not model_admin.has_module_permission(request)
    assert not model_admin.has_view_or_change_permission(request)


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), MODEL_ADMINS, ids=[m._meta.label for m, _ in MODEL_ADMINS])
def test_the_auditor_writes_nothing_in_the_admin(model, model_admin):
    request = admin_request(group_member("auditor"))
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    if not model_admin.has_view_or_change_permission(request):
        return
    for func, action, _ in model_admin.get_actions(request).values():
        assert set(func.allowed_permissions) == {"view"}, f"auditor: {model._meta.label} {action}"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("group", "label", "verb", "allowed"),
    [
        ("marketing", "audiences.member", "add", True),
        ("marketing", "audiences.member", "change", True),
        ("marketing", "audiences.member", "delete", False),
        ("marketing", "audiences.segment", "change", True),
        ("marketing", "audiences.audienceattribute", "add", True),
        ("marketing", "messaging.apikey", "change", True),
        ("marketing", "messaging.provider", "change", False),
        ("operator", "messaging.provider", "change", True),
        ("operator", "messaging.provider", "add", True),
        ("operator", "messaging.provider", "delete", False),
        ("auditor", "messaging.provider", "view", True),
        ("auditor", "audiences.member", "view", True),
    ],
)
def test_the_groups_do_in_the_admin_what_they_are_for(group, label, verb, allowed):
    model = next(model for model, _ in MODEL_ADMINS if model._meta.label_lower == label)
    request = admin_request(group_member(group))
    assert getattr(admin.site._registry[model], f"has_{verb}_permission")(request) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("group", "action", "available"),
    [
        ("auditor", "resend_selected", False),
        ("auditor", "cancel_selected", False),
        ("marketing", "resend_selected", False),
        ("marketing", "cancel_selected", False),
        ("operator", "resend_selected", True),
        ("operator", "cancel_selected", True),
    ],
)
def test_only_the_operator_resends_and_cancels_in_the_console(group, action, available):
    from messaging.models import Recipient

    request = admin_request(group_member(group))
    assert (action in admin.site._registry[Recipient].get_actions(request)) is available


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), GATEWAY_ADMINS, ids=[m._meta.label for m, _ in GATEWAY_ADMINS])
def test_the_auditor_is_refused_every_add_page(model, model_admin):
    browser = Client()
    browser.force_login(group_member("auditor"))
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/"
    assert browser.get(url).status_code == 403
    assert browser.post(url, {}).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/admin/audiences/member/import/", "/admin/messaging/recipient/1/resend/"],
)
def test_the_auditor_is_refused_the_consoles_own_write_pages(url):
    browser = Client()
    browser.force_login(group_member("auditor"))
    assert browser.get(url).status_code == 403
    assert browser.post(url, {}).status_code == 403


# --- The README: every route with its access ---------------------------------------------------


def readme_api_table() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = text.index("| method and path | what it does | key scope; staff permission |")
    return text[start : text.index("\n\n", start)]


def test_the_readme_api_table_lists_every_route_with_its_scope():
    """Each route the URL conf serves (once, without the /vpns and /kpns prefixes) stands in the
    README's API table, on a row that names the scope of each of its methods (or says none)."""
    import re

    rows = readme_api_table().splitlines()[2:]
    for _name, path, view in GUARDED:
        if path.startswith(("/vpns/", "/kpns/")):
            continue
        route = "/" + str(resolve(path).route)
        pattern = re.sub(r"\\<(?:\w+:)?\w+\\>|<(?:\w+:)?\w+>", r"\\{[^}]+\\}", re.escape(route))
        found = [row for row in rows if re.search(f"{pattern}(?![/\\w])", row.split("|")[1])]
        assert found, f"README's API table lacks {route}"
        for method in view_methods(view):
            scope = view_access(view, method).scope
            wanted = f"`{scope}`" if scope else "none"
            assert any(wanted in row.split("|")[3] for row in found), f"README gives no scope for {method} {route}"
