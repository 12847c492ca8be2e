"""A mail as SendGrid's Inbound Parse posts it (`multipart/form-data`: `envelope`, `from`, `to`,
`subject`, `text`, `html`, `headers`, `SPF`, `dkim`, `charsets`, `attachments` and the attachment
files), read into what the inquiry pipeline needs: who it is for (the SMTP envelope), who sent it
and whether the sender's domain vouched for it (SPF or DKIM aligned with the From domain), its
Message-ID and the ids it answers (In-Reply-To, References), its subject and its text.

Attachments are counted, never kept: their bytes are skipped as the body is parsed. The text is
the plain part, else the HTML part's readable text, capped at `TEXT_MAX` with the head kept.
Anything malformed raises `InboundEmailError` (the route answers 400)."""

from __future__ import annotations

import codecs
import email.policy
import hashlib
import json
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from hospes.models.columns import TEXT_MAX
from hospes.notifications.callbacks import storable_text
from hospes.notifications.html_text import html_to_text

# The communication's provider_message_id column; a longer Message-ID is stored as its hash.
MESSAGE_ID_MAX = 200
SUBJECT_MAX = 500
NAME_MAX = 200
# Fields of an Inbound Parse post are a couple of dozen; far more is not SendGrid.
_MAX_FIELDS = 100
_MAX_FILES = 100
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,1000})>")
_DKIM_RESULT = re.compile(r"@([A-Za-z0-9.-]+)\s*:\s*([A-Za-z]+)")
_TEXT_FIELDS = ("from", "to", "subject", "text", "html", "headers", "envelope", "SPF", "dkim", "charsets")


class InboundEmailError(ValueError):
    """The post is not a readable Inbound Parse mail; the message says what is wrong (no content)."""


@dataclass(frozen=True)
class InboundEmail:
    """One received mail. `message_id` fits the provider_message_id column and is the same for
    every retry of the same mail; `in_reply_to` and `references` are those headers' raw values."""

    message_id: str
    recipients: tuple[str, ...]
    sender: str | None
    sender_name: str | None
    authenticated: bool
    in_reply_to: str
    references: str
    subject: str
    text: str
    attachments: int


def parse_inbound_email(content_type: str, body: bytes) -> InboundEmail:
    """The mail of an Inbound Parse post; raises `InboundEmailError` for a malformed one."""
    fields, files = _form_fields(content_type, body)
    charsets = _json_object(fields.get("charsets"), "charsets", required=False)
    text_of = {name: _decode(fields.get(name), charsets.get(name)) for name in _TEXT_FIELDS}
    envelope = _json_object(fields.get("envelope"), "envelope", required=True, text=text_of["envelope"])
    recipients = envelope.get("to")
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list) or not all(isinstance(item, str) for item in recipients):
        raise InboundEmailError("The envelope's `to` must be a list of addresses.")
    envelope_from = envelope.get("from")
    if envelope_from is not None and not isinstance(envelope_from, str):
        raise InboundEmailError("The envelope's `from` must be an address.")
    if text_of["from"] is None:
        raise InboundEmailError("The `from` field is missing.")
    sender_name, sender = _sender(text_of["from"]) or _sender(envelope_from or "") or (None, None)
    headers = HeaderParser(policy=email.policy.compat32).parsestr(text_of["headers"] or "")
    subject = _clean_line(_decoded_words(text_of["subject"] or ""))[:SUBJECT_MAX]
    plain = _clean_text(text_of["text"] or "")
    if not plain and text_of["html"]:
        plain = _clean_text(html_to_text(text_of["html"]))
    attachments = max(files, _count(fields.get("attachments", b"").decode("ascii", errors="replace")))
    return InboundEmail(
        message_id=_message_id(
            headers.get("Message-ID"),
            # Without a Message-ID, the mail's own fields (a retry's multipart boundary may differ).
            fallback=b"\0".join(
                fields.get(name, b"") for name in ("envelope", "from", "subject", "headers", "text", "html")
            ),
        ),
        recipients=tuple(address.strip().lower() for address in recipients if address.strip()),
        sender=sender,
        sender_name=sender_name,
        authenticated=sender is not None
        and _authenticated(
            sender, envelope_from=envelope_from, spf=text_of["SPF"] or "", dkim=text_of["dkim"] or ""
        ),
        in_reply_to=str(headers.get("In-Reply-To") or ""),
        references=str(headers.get("References") or ""),
        subject=subject,
        text=capped_text(plain, attachments=attachments),
        attachments=attachments,
    )


def capped_text(text: str, *, attachments: int) -> str:
    """`text` with a note of the attachments not kept, at most `TEXT_MAX` characters: the head of a
    longer text is kept and the cut is marked."""
    note = f"[{attachments} attachment(s) not kept]" if attachments else ""
    room = TEXT_MAX - (len(note) + 2 if note else 0)
    if len(text) > room:
        marker = f"\n\n[message cut here: {len(text) - room} more characters not kept]"
        # The marker's own length depends on the count it shows; reserve a little more than it needs.
        keep = room - len(marker) - 8
        text = text[:keep] + f"\n\n[message cut here: {len(text) - keep} more characters not kept]"
    return "\n\n".join(part for part in (text, note) if part)


# --- the multipart body ---------------------------------------------------------------------------


class _Fields:
    """Callbacks of python-multipart's streaming parser: text fields kept as bytes, file parts
    (attachments) only counted, their bytes dropped as they pass."""

    def __init__(self) -> None:
        self.fields: dict[str, bytes] = {}
        self.files = 0
        self.parts = 0
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name: str | None = None
        self._is_file = False
        self._data = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > _MAX_FIELDS + _MAX_FILES:
            raise InboundEmailError("The post has too many parts.")
        self._disposition, self._name, self._is_file = b"", None, False
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if name is None:
            raise InboundEmailError("A part of the post has no name.")
        self._name = name.decode("utf-8", errors="replace")
        self._is_file = b"filename" in options
        if self._is_file:
            self.files += 1

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._is_file:
            self._data += data[start:end]

    def on_part_end(self) -> None:
        if not self._is_file and self._name is not None:
            self.fields.setdefault(self._name, bytes(self._data))

    def on_end(self) -> None:
        self.ended = True


def _form_fields(content_type: str, body: bytes) -> tuple[dict[str, bytes], int]:
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise InboundEmailError("The post is not multipart/form-data with a boundary.")
    collected = _Fields()
    callbacks: Any = {
        name: getattr(collected, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_end",
        )
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError) as error:
        if isinstance(error, InboundEmailError):
            raise
        raise InboundEmailError("The multipart body is malformed.") from error
    if not collected.ended:
        raise InboundEmailError("The multipart body ends before its closing boundary.")
    return collected.fields, collected.files


def _decode(raw: bytes | None, charset: object) -> str | None:
    """A field's text in the charset SendGrid names for it (UTF-8 when it names none we know)."""
    if raw is None:
        return None
    encoding = "utf-8"
    if isinstance(charset, str):
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            encoding = "utf-8"
    return raw.decode(encoding, errors="replace")


def _json_object(raw: bytes | None, name: str, *, required: bool, text: str | None = None) -> dict[str, Any]:
    if raw is None:
        if required:
            raise InboundEmailError(f"The `{name}` field is missing.")
        return {}
    try:
        value = json.loads(text if text is not None else raw.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        if required:
            raise InboundEmailError(f"The `{name}` field is not JSON.") from error
        return {}
    if not isinstance(value, dict):
        if required:
            raise InboundEmailError(f"The `{name}` field is not a JSON object.")
        return {}
    return value


# --- the sender and the ids ------------------------------------------------------------------------


def _sender(header: str) -> tuple[str | None, str] | None:
    """(display name, address) of the first mailbox in a From header; None when there is none."""
    header = header[:2000]
    try:
        parsed = email.policy.default.header_factory("from", header)
        mailbox = next(iter(parsed.addresses), None)
        name, address = (mailbox.display_name, mailbox.addr_spec) if mailbox else ("", "")
    except Exception:  # the stdlib raises many kinds on a hostile header; fall back to the lenient parser
        name, address = next(iter(getaddresses([header])), ("", ""))
    address = address.strip().lower()
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        return None
    clean_name = _clean_line(name)[:NAME_MAX] or None
    return clean_name, address


def _decoded_words(value: str) -> str:
    """A header value with its RFC 2047 encoded words decoded, if it has any."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def _message_id(header: str | None, *, fallback: bytes) -> str:
    """The mail's Message-ID as `<id>`, hashed when longer than the column; a mail without one is
    known by a hash of its fields (`fallback`)."""
    match = _MESSAGE_ID.search(str(header or ""))
    if match is None:
        return "sha256:" + hashlib.sha256(fallback).hexdigest()
    normalised = f"<{match[1]}>"
    if len(normalised) > MESSAGE_ID_MAX:
        return "sha256:" + hashlib.sha256(normalised.encode()).hexdigest()
    return normalised


def _authenticated(sender: str, *, envelope_from: str | None, spf: str, dkim: str) -> bool:
    """Did the From address's domain vouch for the mail? A DKIM signature that passed for that
    domain, or SPF that passed for an envelope sender of that domain (DMARC's alignment, relaxed:
    a parent or sub-domain counts)."""
    domain = sender.rpartition("@")[2]
    for signer, result in _DKIM_RESULT.findall(dkim[:5000]):
        if result.lower() == "pass" and _aligned(domain, signer.lower()):
            return True
    envelope_domain = (envelope_from or "").strip().lower().rpartition("@")[2]
    return spf.strip().lower() == "pass" and bool(envelope_domain) and _aligned(domain, envelope_domain)


def _aligned(one: str, other: str) -> bool:
    one, other = one.rstrip("."), other.rstrip(".")
    return one == other or one.endswith("." + other) or other.endswith("." + one)


# --- text -------------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _clean_line(value: str) -> str:
    return _SPACES.sub(" ", storable_text(value)).strip()


def _clean_text(value: str) -> str:
    text = storable_text(value.replace("\r\n", "\n").replace("\r", "\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _count(value: str) -> int:
    value = value.strip()
    return min(int(value), _MAX_FILES) if value.isascii() and value.isdigit() and len(value) < 6 else 0
