"""`hospes schema`: the GraphQL SDL the API serves."""

from __future__ import annotations

from pathlib import Path

import click

from hospes.settings import Settings


@click.command("schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the SDL to this file instead of standard output.",
)
def schema_sdl(output: Path | None) -> None:
    """Print the GraphQL schema (SDL) that the API serves; it needs no database or Redis."""
    from hospes.schema.build import build_schema

    # No setting changes the SDL: the defaults, unvalidated, let the command run anywhere (even
    # with HOSPES_ENV=production and no servers or master key configured).
    sdl = build_schema(Settings.model_construct()).as_str() + "\n"
    if output is None:
        click.echo(sdl, nl=False)
        return
    output.write_text(sdl, encoding="utf-8")
    click.echo(f"wrote the GraphQL schema to {output}", err=True)
