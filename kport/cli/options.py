"""Options shared by several commands."""
from __future__ import annotations

import click

model_argument = click.argument("model", type=click.Path(dir_okay=False))
weights_option = click.option("--weights", type=click.Path(exists=True, dir_okay=False), default=None,
                              help="Separate weights file for an architecture-only MODEL (JSON).")
