"""Who may call each API route (CONTRACT section 7).

Every API view states its access as `access`: one `Access` for all its methods, or a dict of them
by HTTP method. A partner key needs the `scope`; a gateway user (HTTP Basic, or an access token
handed to one) needs every Django permission in `permissions`, or none when the route is open to
`any_user` (every active gateway user). A route that states nothing, or a
method it does not list, is refused: access fails closed. Unauthenticated callers get the 401 of
the authentication classes before this is asked.
"""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import BasePermission

from messaging.models import SCOPES

from .authentication import PartnerSystem


@dataclass(frozen=True)
class Access:
    """The partner scope (None: no partner key may call it) and the staff permissions of a route;
    `any_user` opens it to every active gateway user instead, whatever their permissions."""

    scope: str | None
    permissions: tuple[str, ...]
    any_user: bool = False

    def __post_init__(self):
        if self.scope is not None and self.scope not in SCOPES:
            raise ValueError(f"unknown scope {self.scope!r}")
        if not self.permissions and not self.any_user:
            raise ValueError("a route names at least one staff permission")
        if self.permissions and self.any_user:
            raise ValueError("a route open to any user names no permission")


def view_access(view, method: str) -> Access | None:
    """The access a view states for a method (HEAD and OPTIONS as GET), or None."""
    declared = getattr(view, "access", None)
    if isinstance(declared, Access):
        return declared
    if isinstance(declared, dict):
        return declared.get("GET" if method in ("HEAD", "OPTIONS") else method)
    return None


def caller_may(user, access: Access) -> bool:
    if isinstance(user, PartnerSystem):
        return access.scope is not None and access.scope in (user.api_key.scopes or [])
    return bool(user.is_active and (access.any_user or user.has_perms(access.permissions)))


class GatewayAccess(BasePermission):
    """The default permission of every API view: the caller's scope or permissions, as the view states."""

    def has_permission(self, request, view):
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if not hasattr(view, request.method.lower()):
            return True  # the view answers 405 for a method it does not have
        access = view_access(view, request.method)
        return access is not None and caller_may(user, access)


def scope_permissions() -> dict[str, set[str]]:
    """For each scope, the staff permissions of every route method that the scope opens: what a
    staff member must hold to grant that scope to a key (no one hands out more than they have)."""
    needed: dict[str, set[str]] = {scope: set() for scope in SCOPES}

    def walk(patterns):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns)
            elif isinstance(entry, URLPattern):
                declared = getattr(getattr(entry.callback, "cls", None), "access", None)
                for access in declared.values() if isinstance(declared, dict) else [declared]:
                    if isinstance(access, Access) and access.scope is not None:
                        needed[access.scope].update(access.permissions)

    walk(get_resolver().url_patterns)
    return needed


def scopes_beyond(user, scopes) -> list[str]:
    """The scopes among these that the user could not use as staff."""
    needed = scope_permissions()
    return [scope for scope in scopes if not user.has_perms(needed.get(scope, ()))]
