"""Who may get in, managed by owners: staff users (`staffUsers`, `createStaffUser`,
`updateStaffUser`, `deactivateStaffUser`) and partner API keys (`apiKeys`, `createApiKey`,
`revokeApiKey`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from hospes.models.public import ApiKey as ApiKeyRow
from hospes.models.tenant import StaffRole
from hospes.models.tenant import StaffUser as StaffUserRow
from hospes.resolvers import access, staff
from hospes.resolvers.context import Info
from hospes.resolvers.permissions import OWNER_ONLY
from hospes.schema.errors import UserError
from hospes.schema.ids import encode_id
from hospes.schema.pagination import Connection, connection
from hospes.services.rejections import Rejection


@strawberry.type(description="A partner's API key. The secret is shown only once, when it is created.")
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The public part of the key, `hk_<prefix>_…`.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = strawberry.field(description="Updated at most once a minute.")
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(encode_id("ApiKey", row.id)),
            name=row.name,
            prefix=row.prefix,
            scopes=list(row.scopes),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


@strawberry.type(description="A login of the company's staff.")
class StaffUser:
    id: strawberry.ID
    email: str
    name: str | None
    role: StaffRole
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def from_row(cls, row: StaffUserRow) -> StaffUser:
        return cls(
            id=strawberry.ID(encode_id("StaffUser", row.id)),
            email=row.email,
            name=row.name,
            role=StaffRole(row.role),
            active=row.active,
            created_at=row.created_at,
            last_login_at=row.last_login_at,
        )


@strawberry.input
class CreateApiKeyInput:
    name: str
    scopes: list[str] = strawberry.field(
        description="guests:read, guests:write, bookings:read, bookings:write, messages:send, "
        "inquiries:read, inquiries:write."
    )


@strawberry.input
class RevokeApiKeyInput:
    api_key_id: strawberry.ID


@strawberry.input
class CreateStaffUserInput:
    email: str
    password: str = strawberry.field(description="At least 10 characters.")
    role: StaffRole
    name: str | None = None


@strawberry.input
class UpdateStaffUserInput:
    staff_user_id: strawberry.ID
    name: str | None = strawberry.UNSET
    role: StaffRole | None = strawberry.field(
        default=strawberry.UNSET, description="A new role ends the user's sessions."
    )


@strawberry.input
class DeactivateStaffUserInput:
    staff_user_id: strawberry.ID


@strawberry.type
class CreateApiKeyPayload:
    key: str | None = strawberry.field(description="The whole key, `hk_<prefix>_<secret>`; shown only here.")
    api_key: ApiKey | None
    errors: list[UserError]


@strawberry.type
class RevokeApiKeyPayload:
    api_key: ApiKey | None
    errors: list[UserError]


@strawberry.type
class CreateStaffUserPayload:
    staff_user: StaffUser | None
    errors: list[UserError]


@strawberry.type
class UpdateStaffUserPayload:
    staff_user: StaffUser | None
    errors: list[UserError]


@strawberry.type
class DeactivateStaffUserPayload:
    staff_user: StaffUser | None
    errors: list[UserError]


@strawberry.type
class AccessQuery:
    @strawberry.field(permission_classes=[OWNER_ONLY], description="The company's staff users, by email.")
    async def staff_users(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[StaffUser]:
        page, count = await staff.list_staff_users(info.context, first=first, after=after)
        return connection(page, count, StaffUser.from_row)

    @strawberry.field(
        permission_classes=[OWNER_ONLY], description="The company's API keys, newest first, without secrets."
    )
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ApiKey]:
        page, count = await access.list_api_keys(info.context, first=first, after=after)
        return connection(page, count, ApiKey.from_row)


@strawberry.type
class AccessMutation:
    @strawberry.mutation(permission_classes=[OWNER_ONLY], description="The key is in the answer, only once.")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
        outcome = await access.issue_api_key(info.context, name=input.name, scopes=input.scopes)
        if isinstance(outcome, Rejection):
            return CreateApiKeyPayload(key=None, api_key=None, errors=outcome.errors)
        return CreateApiKeyPayload(key=outcome.key, api_key=ApiKey.from_row(outcome.row), errors=[])

    @strawberry.mutation(permission_classes=[OWNER_ONLY], description="The key stops working at once.")
    async def revoke_api_key(self, info: Info, input: RevokeApiKeyInput) -> RevokeApiKeyPayload:
        outcome = await access.revoke_api_key(info.context, api_key_id=input.api_key_id)
        if isinstance(outcome, Rejection):
            return RevokeApiKeyPayload(api_key=None, errors=outcome.errors)
        return RevokeApiKeyPayload(api_key=ApiKey.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[OWNER_ONLY])
    async def create_staff_user(self, info: Info, input: CreateStaffUserInput) -> CreateStaffUserPayload:
        outcome = await staff.add_staff_user(
            info.context, email=input.email, password=input.password, name=input.name, role=input.role
        )
        if isinstance(outcome, Rejection):
            return CreateStaffUserPayload(staff_user=None, errors=outcome.errors)
        return CreateStaffUserPayload(staff_user=StaffUser.from_row(outcome), errors=[])

    @strawberry.mutation(permission_classes=[OWNER_ONLY], description="Rename a user or change their role.")
    async def update_staff_user(self, info: Info, input: UpdateStaffUserInput) -> UpdateStaffUserPayload:
        outcome = await staff.update_staff_user(
            info.context, staff_user_id=input.staff_user_id, name=input.name, role=input.role
        )
        if isinstance(outcome, Rejection):
            return UpdateStaffUserPayload(staff_user=None, errors=outcome.errors)
        return UpdateStaffUserPayload(staff_user=StaffUser.from_row(outcome), errors=[])

    @strawberry.mutation(
        permission_classes=[OWNER_ONLY], description="The user can no longer log in; their sessions end."
    )
    async def deactivate_staff_user(
        self, info: Info, input: DeactivateStaffUserInput
    ) -> DeactivateStaffUserPayload:
        outcome = await staff.deactivate_staff_user(info.context, staff_user_id=input.staff_user_id)
        if isinstance(outcome, Rejection):
            return DeactivateStaffUserPayload(staff_user=None, errors=outcome.errors)
        return DeactivateStaffUserPayload(staff_user=StaffUser.from_row(outcome), errors=[])
