"""Every value a tenant stores encrypted with its data key, named once.

An `EncryptedColumn` ties a model's BYTEA column (`communication.body_enc`) to the associated data
its ciphertexts are sealed with (`communication.body`), so writers, readers, erasure and
`hospes keys rotate` all agree on it; a ciphertext copied into another column fails to decrypt.
Nothing private is kept beside it in plaintext, so nothing may filter or sort on it in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import SQLModel

from hospes.models.tenant import (
    AccountRegistration,
    AccountToken,
    Booking,
    Communication,
    Guest,
    Inquiry,
    Payment,
    Property,
    ProviderSettings,
    ServiceRequest,
)
from hospes.tenancy.crypto import TenantKeys

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class EncryptedColumn(Generic[M]):
    """Text stored encrypted in `model.attribute`, sealed with `associated` as associated data."""

    model: type[M]
    attribute: str
    associated: str

    def __post_init__(self) -> None:
        # A typo here would silently store nothing: refuse it when the module is imported.
        column = self.table.c.get(self.attribute)
        if column is None or not isinstance(column.type, pg.BYTEA):
            raise TypeError(f"{self.model.__name__}.{self.attribute} is not a BYTEA column")

    @property
    def table(self) -> sa.Table:
        table: sa.Table = self.model.__table__  # type: ignore[attr-defined]
        return table

    @property
    def column(self) -> sa.Column[Any]:
        return self.table.c[self.attribute]

    def seal(self, keys: TenantKeys, value: str | None) -> bytes | None:
        """The ciphertext to store for `value` (None stays None)."""
        return keys.encrypt_optional(value, column=self.associated)

    def unseal(self, keys: TenantKeys, blob: bytes | None) -> str | None:
        """The plaintext of a ciphertext of this column; CryptoError if it is not one."""
        return keys.decrypt_optional(blob, column=self.associated)

    def ciphertext(self, row: M) -> bytes | None:
        blob = getattr(row, self.attribute)
        return None if blob is None else bytes(blob)

    def write(self, row: M, keys: TenantKeys, value: str | None) -> None:
        setattr(row, self.attribute, self.seal(keys, value))

    def read(self, row: M, keys: TenantKeys) -> str | None:
        return self.unseal(keys, self.ciphertext(row))


GUEST_EMAIL = EncryptedColumn(Guest, "email_enc", "guest.email")
GUEST_PHONE = EncryptedColumn(Guest, "phone_enc", "guest.phone")
GUEST_NOTES = EncryptedColumn(Guest, "notes_enc", "guest.notes")
STAY_GUEST_EMAIL = EncryptedColumn(Booking, "stay_guest_email_enc", "booking.stay_guest_email")
STAY_GUEST_PHONE = EncryptedColumn(Booking, "stay_guest_phone_enc", "booking.stay_guest_phone")
MESSAGE_SUBJECT = EncryptedColumn(Communication, "subject_enc", "communication.subject")
MESSAGE_BODY = EncryptedColumn(Communication, "body_enc", "communication.body")
# An explicit address (an email change's new one) the message goes to instead of the guest's.
MESSAGE_RECIPIENT = EncryptedColumn(Communication, "recipient_enc", "communication.recipient")
# The links a message carries (JSON, name -> URL); its body shows markers in their place.
MESSAGE_SECRETS = EncryptedColumn(Communication, "secrets_enc", "communication.secrets")
SERVICE_REQUEST_NOTES = EncryptedColumn(ServiceRequest, "notes_enc", "service_request.notes")
PAYMENT_REFERENCE = EncryptedColumn(Payment, "provider_reference_enc", "payment.provider_reference")
CANCEL_REASON = EncryptedColumn(Booking, "cancel_reason_enc", "booking.cancel_reason")
VILLA_GUIDE = EncryptedColumn(Property, "villa_guide_enc", "property.villa_guide")
CHECK_IN_INSTRUCTIONS = EncryptedColumn(
    Property, "check_in_instructions_enc", "property.check_in_instructions"
)
ACCOUNT_NEW_EMAIL = EncryptedColumn(AccountToken, "new_email_enc", "account_token.new_email")
# A registration waiting for its address to be proven.
REGISTRATION_EMAIL = EncryptedColumn(AccountRegistration, "email_enc", "account_registration.email")
REGISTRATION_NAME = EncryptedColumn(AccountRegistration, "name_enc", "account_registration.name")
PROVIDER_CONFIG = EncryptedColumn(ProviderSettings, "config_enc", "provider_settings.config")
INQUIRY_SUBJECT = EncryptedColumn(Inquiry, "subject_enc", "inquiry.subject")
INQUIRY_MESSAGE = EncryptedColumn(Inquiry, "message_enc", "inquiry.message")
INQUIRY_NOTES = EncryptedColumn(Inquiry, "notes_enc", "inquiry.notes")
INQUIRY_LOST_NOTE = EncryptedColumn(Inquiry, "lost_note_enc", "inquiry.lost_note")

ALL: tuple[EncryptedColumn[Any], ...] = (
    GUEST_EMAIL,
    GUEST_PHONE,
    GUEST_NOTES,
    STAY_GUEST_EMAIL,
    STAY_GUEST_PHONE,
    CANCEL_REASON,
    MESSAGE_SUBJECT,
    MESSAGE_BODY,
    MESSAGE_RECIPIENT,
    MESSAGE_SECRETS,
    SERVICE_REQUEST_NOTES,
    PAYMENT_REFERENCE,
    VILLA_GUIDE,
    CHECK_IN_INSTRUCTIONS,
    ACCOUNT_NEW_EMAIL,
    REGISTRATION_EMAIL,
    REGISTRATION_NAME,
    PROVIDER_CONFIG,
    INQUIRY_SUBJECT,
    INQUIRY_MESSAGE,
    INQUIRY_NOTES,
    INQUIRY_LOST_NOTE,
)


def by_table() -> dict[str, tuple[EncryptedColumn[Any], ...]]:
    """The encrypted columns grouped by table name, in the order of `ALL`."""
    grouped: dict[str, list[EncryptedColumn[Any]]] = {}
    for column in ALL:
        grouped.setdefault(column.table.name, []).append(column)
    return {name: tuple(columns) for name, columns in grouped.items()}
