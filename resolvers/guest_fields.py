"""Moved to `services/guest_fields.py`; kept importable only for `resolvers/accounts.py` (being
split on another branch of issue 11) and migration t0002 (being frozen there). Delete once both land."""

from hospes.services.guest_fields import (
    encrypted_contact,
    name_fields,
    phone_of,
    set_email,
    set_name,
    set_phone,
)

__all__ = ["encrypted_contact", "name_fields", "phone_of", "set_email", "set_name", "set_phone"]
