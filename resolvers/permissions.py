"""Who may call what. Each root field (and each nested field that crosses into another kind of
data) carries a `Rule`; the permission class raises the contract's code itself:
`UNAUTHENTICATED` without a usable credential, `FORBIDDEN` naming what is missing otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from hospes.models.tenant import StaffRole
from hospes.resolvers.context import Context
from hospes.schema.errors import forbidden, unauthenticated
from hospes.tenancy.principal import Principal, PrincipalKind

ALL_STAFF = frozenset(StaffRole)
MANAGERS = frozenset({StaffRole.OWNER, StaffRole.MANAGER})
OWNERS = frozenset({StaffRole.OWNER})

SCOPES = (
    "guests:read",
    "guests:write",
    "bookings:read",
    "bookings:write",
    "messages:read",
    "messages:send",
    "inquiries:read",
    "inquiries:write",
)


@dataclass(frozen=True)
class Rule:
    """Staff `roles` allowed; the partner `scopes` any one of which allows it (none: never for API
    keys); other caller `kinds` allowed (portal, guest account, public form)."""

    roles: frozenset[StaffRole] = frozenset()
    scopes: tuple[str, ...] = ()
    kinds: frozenset[PrincipalKind] = frozenset()


def check(ctx: Context, rule: Rule) -> Principal:
    """The caller, if `rule` lets them in; else the matching top-level error."""
    ctx.raise_auth_failure()
    principal = ctx.principal
    if principal is None:
        raise unauthenticated()
    kind = principal.kind
    if kind in rule.kinds:
        return principal
    if kind is PrincipalKind.STAFF and rule.roles:
        if principal.role is not None and StaffRole(principal.role) in rule.roles:
            return principal
        raise forbidden(f"The {principal.role} role may not do this.")
    if kind is PrincipalKind.PARTNER and rule.scopes:
        if any(scope in principal.scopes for scope in rule.scopes):
            return principal
        raise forbidden(f"This API key lacks the scope {' or '.join(rule.scopes)}.")
    if kind is PrincipalKind.PUBLIC:
        raise unauthenticated()
    raise forbidden("Not available to this kind of caller.")


def allow(rule: Rule) -> type[BasePermission]:
    """A permission class enforcing `rule` (the rule stays readable as `.rule`)."""

    def has_permission(self: BasePermission, source: Any, info: Info, **kwargs: Any) -> bool:
        check(info.context, rule)
        return True

    return type(
        "Allowed",
        (BasePermission,),
        {"message": "Not allowed.", "rule": rule, "has_permission": has_permission},
    )


# The rules of the schema, by what they guard.
STAFF_ONLY = allow(Rule(roles=ALL_STAFF))
READ_GUESTS = allow(Rule(roles=ALL_STAFF, scopes=("guests:read",)))
WRITE_GUESTS = allow(Rule(roles=ALL_STAFF, scopes=("guests:write",)))
READ_BOOKINGS = allow(Rule(roles=ALL_STAFF, scopes=("bookings:read",)))
WRITE_BOOKINGS = allow(Rule(roles=ALL_STAFF, scopes=("bookings:write",)))
MANAGE_CATALOGUE = allow(Rule(roles=MANAGERS))
MANAGE_PRIVACY = allow(Rule(roles=MANAGERS))  # erasure, merge
MANAGE_SETTINGS = allow(Rule(roles=MANAGERS))
MANAGE_TEMPLATES = allow(Rule(roles=MANAGERS))
# What messages say (subject, body) is guest data: a key reads it with messages:read or guests:read,
# never with bookings:read alone, though that key sees the booking's list of messages.
READ_MESSAGE_CONTENT = allow(Rule(roles=ALL_STAFF, scopes=("messages:read", "guests:read")))
# Every staff role works inquiries; partners need the inquiries scopes.
READ_INQUIRIES = allow(Rule(roles=ALL_STAFF, scopes=("inquiries:read",)))
WORK_INQUIRIES = allow(Rule(roles=ALL_STAFF, scopes=("inquiries:write",)))
SEND_MESSAGES = allow(Rule(roles=ALL_STAFF, scopes=("messages:send",)))
OWNER_ONLY = allow(Rule(roles=OWNERS))  # staff users, API keys
PORTAL_ONLY = allow(Rule(kinds=frozenset({PrincipalKind.PORTAL})))
ACCOUNT_ONLY = allow(Rule(kinds=frozenset({PrincipalKind.GUEST_ACCOUNT})))
PUBLIC_FORM = allow(Rule(kinds=frozenset({PrincipalKind.PUBLIC, PrincipalKind.GUEST_ACCOUNT})))
SESSION_HOLDER = allow(Rule(roles=ALL_STAFF, kinds=frozenset({PrincipalKind.GUEST_ACCOUNT})))
