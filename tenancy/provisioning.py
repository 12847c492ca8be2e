"""Creating a tenant: registry row, schema and tenant migrations in ONE transaction, so a tenant
whose creation fails leaves nothing behind."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from hospes.models.public import ApiKey, MessagingAddress, Outbox, PortalToken, Tenant
from hospes.tenancy.database import quoted_schema
from hospes.tenancy.migrations import upgrade_tenant
from hospes.tenancy.registry import TenantRef

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
NAME_MAX = 200
DEFAULT_SETTINGS: dict[str, Any] = {"default_language": "en", "default_region": None}


class ProvisioningError(ValueError):
    """A tenant could not be created; the message is fit to show the operator."""


def schema_name_for(slug: str) -> str:
    # '-' is not allowed in an unquoted identifier; slugs have no '_', so the mapping is one-to-one.
    return "t_" + slug.replace("-", "_")


def validate_slug(slug: str) -> str:
    if not SLUG.fullmatch(slug):
        raise ProvisioningError(
            f"invalid slug {slug!r}: use 2-41 characters, lower-case letters, digits and '-', "
            "starting with a letter"
        )
    return slug


def validate_name(name: str) -> str:
    """The display name as stored (stripped), or a ProvisioningError saying what is wrong with it."""
    name = name.strip()
    if not name:
        raise ProvisioningError("tenant name must not be empty")
    if len(name) > NAME_MAX:
        raise ProvisioningError(f"tenant name must be at most {NAME_MAX} characters")
    if any(unicodedata.category(character) in ("Cc", "Cf", "Cs") for character in name):
        raise ProvisioningError("tenant name must not contain control characters")
    return name


def create_tenant(
    engine: Engine, *, slug: str, name: str, settings: dict[str, Any] | None = None
) -> TenantRef:
    """Register and provision a tenant; all or nothing."""
    validate_slug(slug)
    name = validate_name(name)
    schema_name = schema_name_for(slug)
    with engine.begin() as connection:
        taken = connection.execute(sa.select(col(Tenant.id)).where(col(Tenant.slug) == slug)).first()
        if taken is not None:
            raise ProvisioningError(f"tenant {slug!r} already exists")
        row = connection.execute(
            sa.insert(Tenant)
            .values(
                slug=slug,
                name=name,
                schema_name=schema_name,
                settings={**DEFAULT_SETTINGS, **(settings or {})},
            )
            .returning(*Tenant.__table__.c)  # type: ignore[attr-defined]
        ).one()
        connection.execute(sa.text(f"CREATE SCHEMA {quoted_schema(schema_name)}"))
        upgrade_tenant(connection, schema_name=schema_name)
    return TenantRef.from_row(row)


def drop_tenant(engine: Engine, *, slug: str) -> None:
    """Remove a tenant and its schema with everything in it. For failed set-ups and tests."""
    schema_name = schema_name_for(validate_slug(slug))
    with engine.begin() as connection:
        tenant_id = sa.select(col(Tenant.id)).where(col(Tenant.slug) == slug).scalar_subquery()
        for owned in (PortalToken, ApiKey, Outbox, MessagingAddress):
            owner = sa.inspect(owned).columns["tenant_id"]
            connection.execute(sa.delete(owned).where(owner == tenant_id))
        connection.execute(sa.delete(Tenant).where(col(Tenant.slug) == slug))
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {quoted_schema(schema_name)} CASCADE"))


@dataclass(frozen=True)
class NewTenant:
    """One tenant asked for by the operator; `origin` says where (an argument, a line of a file)."""

    slug: str
    name: str
    origin: str


def read_tenant_lines(lines: Iterable[str], *, source: str) -> list[NewTenant]:
    """Parse a tenant list: one slug per line, optionally followed by the company's name (the slug
    itself when none is given); blank lines and lines starting with `#` are skipped."""
    found = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        slug, *name = re.split(r"\s+", text, maxsplit=1)
        found.append(NewTenant(slug=slug, name=name[0] if name else slug, origin=f"{source}:{number}"))
    return found


def check_new_tenants(wanted: Sequence[NewTenant]) -> list[str]:
    """Every problem of the list as a whole (bad slugs or names, a slug asked for twice), so an
    operator fixes them all in one go before anything is created. Existing tenants are not checked
    here: `create_tenant` refuses them one by one, in the transaction that would create them."""
    problems = []
    first_seen: dict[str, str] = {}
    for tenant in wanted:
        where = f"{tenant.origin}: " if len(wanted) > 1 else ""
        try:
            validate_slug(tenant.slug)
            validate_name(tenant.name)
        except ProvisioningError as error:
            problems.append(f"{where}{error}")
            continue
        if tenant.slug in first_seen:
            problems.append(
                f"{where}slug {tenant.slug!r} is listed twice (first at {first_seen[tenant.slug]})"
            )
        else:
            first_seen[tenant.slug] = tenant.origin
    return problems
