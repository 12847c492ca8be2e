"""SQL expressions that write a value in PostgreSQL's JSON exactly as the GraphQL layer would
serialize it from Python: IDs, times, dates, decimals, enums; and the JSON builders themselves."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

Expression = sa.ColumnElement[Any]
Format = Callable[[Expression], Expression]


def const(value: str) -> Expression:
    """A constant of this module's own (a format, a type or enum name), written into the SQL:
    never a value from a request. Fewer parameters make a shorter, cheaper statement to send."""
    if "%" in value:
        raise ValueError("a constant with % would need escaping for the driver")
    return sa.literal_column("'" + value.replace("'", "''") + "'::text", sa.Text)


def key(name: str) -> Expression:
    """A response key: it comes from the request (an alias), so it is a bound parameter."""
    return sa.cast(sa.literal(name), sa.Text)


def plain(column: Expression) -> Expression:
    return column


def opaque_id(type_name: str) -> Format:
    """`encode_id(type_name, id)`: base64url of `<Type>:` and the UUID's 16 bytes, unpadded."""

    def format_(column: Expression) -> Expression:
        raw = sa.func.convert_to(const(f"{type_name}:"), const("UTF8")).op("||")(sa.func.uuid_send(column))
        # encode() wraps base64 at 76 characters: the newline goes, with the padding.
        return sa.func.translate(sa.func.encode(raw, const("base64")), const("+/\n="), const("-_"))

    return format_


def iso_datetime(column: Expression) -> Expression:
    """`datetime.isoformat()` of a timestamptz as psycopg reads it (in the session's time zone):
    microseconds only when there are some, the offset as ±HH:MM."""
    micro = sa.func.to_char(column, const("US"))
    fraction = sa.case((micro == const("000000"), const("")), else_=const(".").op("||")(micro))
    return (
        sa.func.to_char(column, const('YYYY-MM-DD"T"HH24:MI:SS'))
        .op("||")(fraction)
        .op("||")(sa.func.to_char(column, const("TZH:TZM")))
    )


def iso_date(column: Expression) -> Expression:
    return sa.func.to_char(column, const("YYYY-MM-DD"))


def decimal(column: Expression) -> Expression:
    """`str(Decimal)` of a numeric: PostgreSQL's text of it, scale kept."""
    return sa.cast(column, sa.Text)


def enum_name(enum: type[Enum]) -> Format:
    """A stored enum value as the GraphQL enum's name (NULL stays null)."""

    def format_(column: Expression) -> Expression:
        return sa.case(*((column == const(str(member.value)), const(member.name)) for member in enum))

    return format_


def uuid_hex(column: Expression) -> Expression:
    """`uuid.hex`: the 32 hex digits."""
    return sa.func.replace(sa.cast(column, sa.Text), const("-"), const(""))


def ciphertext(column: Expression) -> Expression:
    """A BYTEA as base64 text, opened in Python afterwards."""
    return sa.func.encode(column, const("base64"))


def json_object(pairs: list[tuple[str, Expression]]) -> Expression:
    """json_build_object in the given key order (`json`, not `jsonb`: the order is kept)."""
    arguments: list[Expression] = []
    for name, value in pairs:
        arguments += [key(name), value]
    return sa.func.json_build_object(*arguments)


def json_list(value: Expression, *order_by: Expression) -> Expression:
    """json_agg of `value` in `order_by`; an empty list, not NULL, when there are no rows."""
    return sa.func.coalesce(
        sa.func.json_agg(aggregate_order_by(value, *order_by)), sa.literal_column("'[]'::json")
    )
