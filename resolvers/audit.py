"""Moved to `services/audit.py`; kept importable only for `resolvers/accounts.py`, which another
branch of issue 11 is splitting into `services/accounts/`. Delete once that lands."""

from hospes.services.audit import record

__all__ = ["record"]
