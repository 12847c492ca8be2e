"""`hospes keys`: master key generation and data key rotation."""

from __future__ import annotations

import base64
import secrets

import click

from hospes.cli.servers import cli_policy, fail, load_settings, migrate_public, open_servers


@click.group()
def keys() -> None:
    """Encryption keys."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new master key (32 random bytes, base64url) for HOSPES_MASTER_KEY."""
    click.echo(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())


@keys.command("rotate")
@click.option("--tenant", "slug", required=True, help="The company's slug.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--max-passes",
    default=5,
    show_default=True,
    type=click.IntRange(2, 100),
    help="Passes (one key cache period apart) before giving up on late writes.",
)
def keys_rotate(slug: str, batch_size: int, max_passes: int) -> None:
    """Re-encrypt one company's private data under a new data key, without downtime (old keys are
    kept, so values written during the rotation stay readable)."""
    from hospes.tenancy.crypto import CryptoError
    from hospes.tenancy.database import create_engine_sync
    from hospes.tenancy.keyring import master_key_from
    from hospes.tenancy.rotation import PassReport, RotationError, describe, rotate_tenant

    settings = load_settings()
    try:
        master = master_key_from(settings)
    except CryptoError as error:
        fail(str(error))

    def key_added(version: int) -> None:
        click.echo(
            f"added data key v{version} to tenant {slug}; waiting {settings.tenant_cache_seconds:g}s "
            "for API processes to load it"
        )

    def pass_done(report: PassReport) -> None:
        outcome = report.result
        bad = (
            f", {len(outcome.unreadable)} unreadable value(s) left as they are" if outcome.unreadable else ""
        )
        click.echo(
            f"pass {report.number}: re-encrypted {describe(outcome.rows)}; "
            f"left under older keys: {describe(report.left.rows)}{bad}"
        )

    with open_servers(settings, need_redis=False) as servers:
        migrate_public(servers.database_url)
        engine = create_engine_sync(servers.database_url, policy=cli_policy())
        try:
            result = rotate_tenant(
                engine,
                master,
                slug=slug,
                cache_seconds=settings.tenant_cache_seconds,
                batch_size=batch_size,
                max_passes=max_passes,
                on_key_added=key_added,
                on_pass=pass_done,
            )
        except (RotationError, CryptoError) as error:
            fail(str(error))
        finally:
            engine.dispose()
        click.echo(f"rotated tenant {slug} to data key v{result.version}: {describe(result.rows)}")
        if result.unreadable:
            listed = "; ".join(str(cell) for cell in result.unreadable[:5])
            more = f" and {len(result.unreadable) - 5} more" if len(result.unreadable) > 5 else ""
            fail(
                f"{len(result.unreadable)} value(s) cannot be decrypted and were left as they are: "
                f"{listed}{more}"
            )
        if not result.complete:
            fail(
                f"{result.left.total} row(s) still hold values under older data keys after {max_passes} "
                "passes (they stay readable); run the rotation again"
            )
