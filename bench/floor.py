"""The floor: each operation's data fetched by ONE hand-written SQL statement that builds the whole
response with `json_build_object` / `json_agg`, read through psycopg directly.

Each statement returns the same JSON as the API's `data` for the GraphQL documents in
`bench.guest_graph` (same field names, opaque IDs, cursors, enum spellings, ordering), so the
comparison is like for like; the benchmark checks that before it measures anything. Encrypted
columns (all in tenancy/encrypted_columns.py: contact data, notes, message texts…) cannot be
decrypted in SQL, so the benchmarked documents do not select them and neither do these statements.
Tables are quoted with `psycopg.sql.Identifier`; values travel as bind parameters.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, sql

TABLES = (
    "guest", "guest_tally", "booking", "payment", "property", "service", "service_request", "communication",
)  # fmt: skip


def _opaque_id(type_name: str, alias: str) -> sql.Composable:
    """The API's ID: unpadded base64url of b"<Type>:" + the 16 bytes of the UUID (schema/ids.py)."""
    return sql.SQL(
        "rtrim(translate(encode(convert_to({prefix}, 'UTF8') || uuid_send({column}), 'base64'),"
        " E'+/\\n', '-_'), '=')"
    ).format(prefix=sql.Literal(type_name + ":"), column=sql.Identifier(alias, "id"))


def _cursor(alias: str) -> sql.Composable:
    """The API's keyset cursor for the default order (resolvers/pagination.py): unpadded base64url of
    the compact JSON `["last_activity_at", <ISO time>, <uuid hex>]`."""
    return sql.SQL(
        'rtrim(translate(encode(convert_to(\'["last_activity_at","\' || '
        "trim(both '\"' from to_json({at})::text) || '\",\"' || replace({id}::text, '-', '') || '\"]',"
        " 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"
    ).format(at=sql.Identifier(alias, "last_activity_at"), id=sql.Identifier(alias, "id"))


def _compose(template: str, schema_name: str) -> sql.Composed:
    tables = {name: sql.Identifier(schema_name, name) for name in TABLES}
    ids = {
        "guest_id": _opaque_id("Guest", "g"),
        "booking_id": _opaque_id("Booking", "b"),
        "payment_id": _opaque_id("Payment", "p"),
        "property_id": _opaque_id("Property", "pr"),
        "service_id": _opaque_id("Service", "s"),
        "request_id": _opaque_id("ServiceRequest", "r"),
        "message_id": _opaque_id("Communication", "m"),
        "cursor": _cursor("g"),
    }
    return sql.SQL(template).format(**tables, **ids)


# Fields of a payment (alias p) as the API prints them: Decimal as a string, enums upper-case.
_PAYMENT = """json_build_object(
    'id', {payment_id}, 'amount', p.amount::text, 'currency', p.currency, 'method', p.method,
    'status', upper(p.status), 'paidAt', p.paid_at, 'createdAt', p.created_at)"""

_GUEST_DETAIL = f"""
SELECT json_build_object(
  'id', {{guest_id}}, 'name', g.name, 'country', g.country,
  'language', g.language, 'preferredChannel', upper(g.preferred_channel),
  'smsOptIn', g.sms_opt_in, 'marketingEmailConsent', g.marketing_email_consent,
  'registeredAt', g.created_at, 'lastActivityAt', g.last_activity_at, 'erasedAt', g.erased_at,
  'bookingCount', g.booking_count,
  'bookings', COALESCE((
    SELECT json_agg(json_build_object(
      'id', {{booking_id}}, 'checkIn', b.check_in, 'checkOut', b.check_out, 'adults', b.adults,
      'children', b.children, 'amount', b.amount::text, 'currency', b.currency,
      'status', upper(b.status), 'source', upper(b.source), 'channel', b.channel,
      'externalId', b.external_id, 'createdAt', b.created_at, 'cancelledAt', b.cancelled_at,
      'stayGuest', CASE WHEN b.stay_guest_name <> '' THEN json_build_object(
        'name', b.stay_guest_name) END,
      'property', json_build_object('id', {{property_id}}, 'name', pr.name, 'timezone', pr.timezone),
      'payments', COALESCE((
        SELECT json_agg({_PAYMENT} ORDER BY p.created_at DESC, p.id DESC)
        FROM {{payment}} p WHERE p.booking_id = b.id), '[]'::json),
      'serviceRequests', COALESCE((
        SELECT json_agg(json_build_object(
          'id', {{request_id}}, 'date', r.service_date, 'people', r.people, 'price', r.price::text,
          'currency', r.currency, 'status', upper(r.status),
          'service', json_build_object(
            'id', {{service_id}}, 'name', s.name, 'price', s.price::text, 'currency', s.currency))
          ORDER BY r.created_at DESC, r.id DESC)
        FROM {{service_request}} r JOIN {{service}} s ON s.id = r.service_id
        WHERE r.booking_id = b.id), '[]'::json))
      ORDER BY b.created_at DESC, b.id DESC)
    FROM {{booking}} b JOIN {{property}} pr ON pr.id = b.property_id
    WHERE b.guest_id = g.id), '[]'::json),
  'communications', COALESCE((
    SELECT json_agg(json_build_object(
      'id', {{message_id}}, 'channel', upper(m.channel), 'direction', upper(m.direction),
      'templateKey', m.template_key, 'messageClass', upper(m.message_class),
      'status', upper(m.status), 'createdAt', m.created_at, 'sentAt', m.sent_at)
      ORDER BY m.created_at DESC, m.id DESC)
    FROM {{communication}} m WHERE m.guest_id = g.id), '[]'::json),
  'payments', COALESCE((
    SELECT json_agg({_PAYMENT} ORDER BY p.created_at DESC, p.id DESC)
    FROM {{payment}} p JOIN {{booking}} pb ON pb.id = p.booking_id
    WHERE pb.guest_id = g.id), '[]'::json),
  'serviceRequests', COALESCE((
    SELECT json_agg(json_build_object(
      'id', {{request_id}}, 'date', r.service_date, 'people', r.people, 'price', r.price::text,
      'currency', r.currency, 'status', upper(r.status), 'createdAt', r.created_at)
      ORDER BY r.created_at DESC, r.id DESC)
    FROM {{service_request}} r WHERE r.guest_id = g.id), '[]'::json))
FROM {{guest}} g
WHERE g.id = %(id)s
"""

# The first page of the customer list in its default order (last activity, newest first), with
# one row more than the page to answer `hasNextPage` the way the API does.
_GUEST_LIST = f"""
WITH probe AS (
  SELECT g.id, g.name, g.country, g.language, g.last_activity_at
  FROM {{guest}} g
  WHERE g.erased_at IS NULL
  ORDER BY g.last_activity_at DESC, g.id DESC
  LIMIT %(first)s + 1
), page AS (
  SELECT g.*, {{cursor}} AS cursor
  FROM probe g
  ORDER BY g.last_activity_at DESC, g.id DESC
  LIMIT %(first)s
)
SELECT json_build_object(
  'totalCount', (SELECT t.live FROM {{guest_tally}} t),
  'pageInfo', json_build_object(
    'hasNextPage', (SELECT count(*) FROM probe) > %(first)s,
    'endCursor', (SELECT g.cursor FROM page g ORDER BY g.last_activity_at, g.id LIMIT 1)),
  'edges', COALESCE((
    SELECT json_agg(json_build_object('cursor', g.cursor, 'node', json_build_object(
      'id', {{guest_id}}, 'name', g.name, 'country', g.country,
      'language', g.language, 'lastActivityAt', g.last_activity_at,
      'bookings', COALESCE((
        SELECT json_agg(json_build_object(
          'id', {{booking_id}}, 'checkIn', b.check_in, 'checkOut', b.check_out,
          'status', upper(b.status), 'amount', b.amount::text, 'currency', b.currency,
          'payments', COALESCE((
            SELECT json_agg({_PAYMENT} ORDER BY p.created_at DESC, p.id DESC)
            FROM {{payment}} p WHERE p.booking_id = b.id), '[]'::json))
          ORDER BY b.created_at DESC, b.id DESC)
        FROM {{booking}} b WHERE b.guest_id = g.id), '[]'::json)))
      ORDER BY g.last_activity_at DESC, g.id DESC)
    FROM page g), '[]'::json))
"""


def guest_detail_sql(schema_name: str) -> sql.Composed:
    """`guest(id)` with everything nested; parameter `id` (a UUID)."""
    return _compose(_GUEST_DETAIL, schema_name)


def guest_list_sql(schema_name: str) -> sql.Composed:
    """`guests(first: N)` with bookings and their payments, and `totalCount`; parameter `first`."""
    return _compose(_GUEST_LIST, schema_name)


async def fetch_json(conn: AsyncConnection[Any], statement: sql.Composed, params: dict[str, Any]) -> Any:
    """Run one floor statement; psycopg parses the JSON, as a client of the API would."""
    async with conn.cursor() as cursor:
        await cursor.execute(statement, params)
        row = await cursor.fetchone()
    if row is None or row[0] is None:
        raise LookupError("the floor query found nothing")
    return row[0]
