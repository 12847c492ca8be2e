"""Writes the schemathesis.toml of `.ci/fuzz`: the values mixed into what schemathesis generates.

    fuzz_config.py SCHEMA_SDL SEEDED_IDS_JSON OUT_TOML

Random data rarely gets past the first validation of an input: an operation that refuses a bad
email never stores the name beside it. So every argument that gates an operation (an email, a phone,
a country, a currency, a tenant, an id of a seeded row…) is drawn most of the time from a few valid
values, found by name in the SDL, so the other arguments reach the database. Known-hostile values
are mixed into every text and integer argument, and forged cursors into `after`.
"""

from __future__ import annotations

import base64
import json
import math
import sys
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    build_schema,
)

# Values that pass validation, with one hostile value in some, by argument name. Never the fuzz
# owner's real password: a finding prints its input.
GATES: dict[str, list[str]] = {
    "email": ["anna@fuzz.test", "owner@fuzz.test", "new.guest@fuzz.test", "anna\x00@fuzz.test"],
    "phone": ["+34600111222", "+50688887777", "+3460011\x001222"],
    "country": ["ES", "CR", "US"],
    "language": ["es", "en", "pt-BR"],
    "timezone": ["America/Costa_Rica", "Europe/Madrid", "UTC"],
    "currency": ["USD", "EUR"],
    "tenant": ["fuzz"],
    "password": ["correct-horse-battery-staple", "fuzz-password-2026"],
    "method": ["card", "cash"],
    "channel": ["airbnb", "booking_com"],
    "key": ["booking_confirmed", "pre_arrival", "inquiry_reply"],
    "scopes": ["bookings:read", "guests:read", "guests:write", "messages:read"],
    "portalBaseUrl": ["https://portal.fuzz.test"],
    "emailFrom": ["Fuzz Villas <hello@fuzz.test>"],
    "phoneFrom": ["+15005550006"],
}
INTEGER_GATES: dict[str, list[int]] = {
    "first": [1, 20, 100],
    "adults": [1, 2],
    "children": [0, 1],
    "people": [1, 2],
}
# Argument names that share a gate's values.
ALIASES = {
    "newEmail": "email",
    "defaultRegion": "country",
    "defaultLanguage": "language",
    "defaultCurrency": "currency",
    "newPassword": "password",
    "currentPassword": "password",
    "templateKey": "key",
    "smsFrom": "phoneFrom",
    "whatsappFrom": "phoneFrom",
}
# ID arguments, by name, and the seeded row they may name. Never a staff user's id: deactivating
# or demoting the fuzzing owner would end the session of the staff pass.
ID_ARGUMENTS = {
    "propertyId": "property",
    "guestId": "guest",
    "sourceGuestId": "guest",
    "targetGuestId": "guest",
    "bookingId": "booking",
    "serviceId": "service",
}
ID_FIELDS = {("Query", "guest"): "guest", ("Query", "booking"): "booking"}

HOSTILE_TEXT = [
    "\x00",
    "Anna\x00Hemm",
    "a\x00b\x00c",
    "../../../../etc/passwd",
    "a" * 300,
    "x" * 10_001,  # past the longest text limit (10,000)
    "\t\r\n \u00a0\u200b\ufeff",
    "Ω≈ç√∫µ≤≥÷ 田中 مرحبا",
]
HOSTILE_INTEGERS = [2_147_483_647, -2_147_483_648, 0, -1]
NOWHERE = "0" * 32  # a well-formed primary key of no row

GATE_PROBABILITY = 0.75
ID_PROBABILITY = 0.6
HOSTILE_TEXT_PROBABILITY = 0.25
HOSTILE_INTEGER_PROBABILITY = 0.1
CURSOR_PROBABILITY = 0.8


def _cursor(*parts: Any) -> str:
    raw = json.dumps(list(parts), separators=(",", ":")).encode()  # inf and nan as Infinity and NaN
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


INT_VALUES: list[Any] = [math.inf, -math.inf, math.nan, 1e30, 2**63, -(2**63) - 1]
DATETIME_VALUES: list[Any] = [
    "9999-12-31T23:59:59.999999+00:00",
    "0001-01-01T00:00:00+14:00",
    "2026-01-01T00:00:00+23:59",
    "2026-01-01",
    1e30,
]
TEXT_VALUES: list[Any] = ["\x00", "a\x00b", "z" * 5000, 7]
# The orderings of each connection (resolvers/*: `Sort(name, …)`), so a forged cursor decodes.
ORDERINGS = {
    "guests": {
        "booking_count": INT_VALUES,
        "last_activity_at": DATETIME_VALUES,
        "registered_at": DATETIME_VALUES,
        "name": TEXT_VALUES,
    },
    "properties": {"name": TEXT_VALUES},
    "services": {"name": TEXT_VALUES},
    "staffUsers": {"email": TEXT_VALUES},
    "apiKeys": {"created": DATETIME_VALUES},
    "messageTemplates": {"key": TEXT_VALUES},
}


def forged_cursors(field: str) -> list[str]:
    """`after` values a client could forge for one connection: the server's own format (base64url
    of a JSON list `[ordering, value, primary key]`; a guest's history: `[at, primary key]`; the
    inquiry pipeline: `[ordering, needs action, at, primary key]`)
    carrying hostile values, and a few that are not even that."""
    if field == "history":
        cursors = [_cursor(at, NOWHERE) for at in [*DATETIME_VALUES, "\x00"]]
    elif field == "inquiries":
        # The pipeline's cursor leads with needs-action: [ordering, needs action, at, primary key].
        cursors = [
            _cursor("pipeline", needs, at, NOWHERE) for needs in (True, 1, "x") for at in DATETIME_VALUES
        ]
    else:
        orderings = ORDERINGS.get(field) or {name: TEXT_VALUES for name in ("name", "key", "email")}
        cursors = [_cursor(name, value, NOWHERE) for name, values in orderings.items() for value in values]
        cursors.append(_cursor(next(iter(orderings)), "a", "not-a-uuid"))
    cursors.append(base64.urlsafe_b64encode(b"[" * 1100 + b"]" * 1100).decode())  # past json's recursion
    cursors.append(base64.urlsafe_b64encode(b'{"a":1,"b":2,"c":3}').decode())
    return cursors


def _leaves(value_type: GraphQLInputType, path: tuple[str, ...], depth: int = 0) -> list[tuple[str, ...]]:
    """Every String/ID/Int leaf under an argument, as a binding path (`[*]` for list elements)."""
    while isinstance(value_type, GraphQLNonNull):
        value_type = value_type.of_type
    if isinstance(value_type, GraphQLList):
        return _leaves(value_type.of_type, (*path[:-1], f"{path[-1]}[*]"), depth)
    if isinstance(value_type, GraphQLInputObjectType) and depth < 4:
        return [
            leaf
            for name, field in value_type.fields.items()
            for leaf in _leaves(field.type, (*path, name), depth + 1)
        ]
    if isinstance(value_type, GraphQLScalarType) and value_type.name in ("String", "ID", "Int"):
        return [path]
    return []


def bindings(sdl: str, seeded: dict[str, str]) -> dict[str, tuple[str, float]]:
    """`<Type>.<field>.<argument path>` -> (dictionary, probability), for every gate in the SDL."""
    schema = build_schema(sdl)
    found: dict[str, tuple[str, float]] = {}
    for root in (schema.query_type, schema.mutation_type):
        if root is None:
            continue
        for field_name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                for path in _leaves(argument.type, (argument_name,)):
                    leaf = path[-1].removesuffix("[*]")
                    key = ".".join((root.name, field_name, *path))
                    gate = ALIASES.get(leaf, leaf)
                    row = ID_ARGUMENTS.get(leaf)
                    if leaf == "id":
                        row = ID_FIELDS.get((root.name, field_name))
                    if leaf == "after":
                        found[key] = (f"cursors-{field_name}", CURSOR_PROBABILITY)
                    elif gate in GATES or gate in INTEGER_GATES:
                        found[key] = (f"gate-{gate}", GATE_PROBABILITY)
                    elif row is not None and row in seeded:
                        found[key] = (f"seeded-{row}", ID_PROBABILITY)
    # Connections nested in objects: only a guest's history so far.
    found["Guest.history.after"] = ("cursors-history", CURSOR_PROBABILITY)
    found["Guest.history.first"] = ("gate-first", GATE_PROBABILITY)
    return found


def _values(items: list[Any]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"  # JSON strings are TOML strings


def write(sdl_path: str, seeded_path: str, out_path: str) -> None:
    seeded: dict[str, str] = json.loads(Path(seeded_path).read_text(encoding="utf-8"))
    found = bindings(Path(sdl_path).read_text(encoding="utf-8"), seeded)
    cursor_fields = sorted(
        {
            dictionary.removeprefix("cursors-")
            for dictionary, _ in found.values()
            if dictionary.startswith("cursors-")
        }
    )
    dictionaries: dict[str, list[Any]] = {
        "hostile-text": HOSTILE_TEXT,
        "hostile-integers": HOSTILE_INTEGERS,
        **{f"cursors-{field}": forged_cursors(field) for field in cursor_fields},
        **{f"gate-{name}": values for name, values in GATES.items()},
        **{f"gate-{name}": values for name, values in INTEGER_GATES.items()},
        **{f"seeded-{row}": [object_id] for row, object_id in seeded.items()},
    }
    lines: list[str] = []
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {_values(values)}"]
    lines += [
        "[generation.dictionaries]",
        f'string = {{ dictionary = "hostile-text", probability = {HOSTILE_TEXT_PROBABILITY} }}',
        f'integer = {{ dictionary = "hostile-integers", probability = {HOSTILE_INTEGER_PROBABILITY} }}',
        "[parameters]",
    ]
    for key, (dictionary, probability) in sorted(found.items()):
        lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = {probability} }}')
    Path(out_path).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(*sys.argv[1:])
