"""consentclip link: bind clips to a consent by content hash."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consentclip.cli._util import JsonOption, cli_command, emit_json, home_from
from consentclip.cli.options import UserOption
from consentclip.consent.registry import ClipLink
from consentclip.errors import UsageError
from consentclip.link import link_clips, list_links, read_link_csv

HELP = "Link clips or photos to a signed consent by the SHA-256 of their content."


@cli_command
def link_cli(
    ctx: typer.Context,
    clips: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Clips or photos to link.", metavar="CLIP...", dir_okay=False, show_default=False
        ),
    ] = None,
    consent: Annotated[
        str | None,
        typer.Option("--consent", "-c", help="Consent id (e.g. C-7K2M); with --list, a filter."),
    ] = None,
    from_csv: Annotated[
        Path | None,
        typer.Option(
            "--from-csv", help="CSV of 'path,consent_id' rows for a whole shoot.", dir_okay=False
        ),
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="Show links (all, or one consent's with --consent).")
    ] = False,
    json_out: JsonOption = False,
    user: UserOption = None,
) -> None:
    home = home_from(ctx)
    if list_only:
        if clips or from_csv:
            raise UsageError("--list takes no clips and no --from-csv")
        _show(list_links(home, consent), json_out)
        return
    if from_csv is not None:
        if clips or consent:
            raise UsageError("--from-csv takes its clips and consent ids from the CSV only")
        pairs = read_link_csv(from_csv)
    else:
        if not clips:
            raise UsageError("give clips to link, --from-csv FILE, or --list")
        if not consent:
            raise UsageError("which consent? add --consent ID")
        pairs = [(clip, consent) for clip in clips]
    _show(link_clips(home, pairs), json_out)


def _show(links: list[ClipLink], json_out: bool) -> None:
    if json_out:
        emit_json(
            [
                {
                    "consent_id": link.consent_id,
                    "clip_number": link.clip_number,
                    "sha256": link.sha256,
                    "original_name": link.original_name,
                    "media_kind": link.media_kind,
                    "linked_at": link.linked_at,
                }
                for link in links
            ]
        )
        return
    if not links:
        typer.echo("no links")
        return
    for link in links:
        typer.echo(
            f"{link.consent_id} clip{link.clip_number:02d} {link.media_kind:5} "
            f"{link.sha256[:12]}  {link.original_name}"
        )
