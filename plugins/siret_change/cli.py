"""`flask chorus change-identifier OLD NEW` or `--file pairs.csv` (SPEC SIR-5): the directory's changes of SIRET for
local authorities, applied as the system; running it again does nothing and says so."""
from __future__ import annotations

import csv

import click


def _pairs(path: str) -> list[tuple[str, str]]:
    """The (old, new) pairs of a CSV file: two columns, comma or semicolon, an optional header line."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        text = f.read()
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    pairs = []
    for number, row in enumerate(csv.reader(text.splitlines(), dialect), start=1):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        if len(cells) != 2:
            raise click.ClickException(f"{path}, ligne {number} : deux colonnes attendues (ancien SIRET, nouveau).")
        if number == 1 and not any(ch.isdigit() for ch in cells[0]):
            continue  # a header line
        pairs.append((cells[0], cells[1]))
    return pairs


@click.command("change-identifier")
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), help="CSV: old, new SIRET.")
def change_identifier_command(old, new, path):
    """Apply the referential's changes of SIRET (local authorities, SPEC SIR-5): OLD NEW, or --file pairs.csv."""
    from .services import apply_directory_change

    if path and (old or new):
        raise click.UsageError("Give OLD NEW or --file, not both.")
    if not path and not (old and new):
        raise click.UsageError("Give OLD NEW, or --file pairs.csv.")
    pairs = _pairs(path) if path else [(old, new)]
    counts = {"done": 0, "already": 0, "refused": 0}
    for old_identifier, new_identifier in pairs:
        outcome = apply_directory_change(old_identifier, new_identifier)
        counts[outcome.status] += 1
        click.echo(f"{outcome.old} -> {outcome.new} : {outcome.message}")
    click.echo(f"applied: {counts['done']}, already applied: {counts['already']}, refused: {counts['refused']}")
    if counts["refused"]:
        raise SystemExit(1)
