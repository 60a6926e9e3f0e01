"""`kport ops`: the supported layer kinds and which backends each has."""
from __future__ import annotations

import click


@click.command()
@click.option("--markdown", is_flag=True, help="Print the support table as markdown (docs/SUPPORT.md).")
def ops(markdown):
    """List the supported Keras layer kinds and their backend hooks."""
    from kport.support import support_rows, support_table

    if markdown:
        click.echo(support_table(), nl=False)
        return
    for row in support_rows():
        marks = " ".join(f"{b}:{'yes' if row[b] is True else 'no'}" for b in ("numpy", "onnx", "torch", "keras"))
        click.echo(f"{row['kind']:<28} {marks}  ({', '.join(row['keras_classes'])})")
