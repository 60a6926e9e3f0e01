"""Options shared by several commands."""
from __future__ import annotations

import functools

import click

model_argument = click.argument("model", type=click.Path())
weights_option = click.option("--weights", type=click.Path(exists=True), default=None,
                              help="Separate weights file (or folder) for an architecture-only MODEL (JSON).")


def load_options(command):
    """Adds --arch, --layout and --trust-lambda; the command receives them as one `load` dict for kport.load."""

    @click.option("--arch", type=click.Path(exists=True, dir_okay=False), default=None,
                  help="Architecture (model JSON or .h5) for a pickled parameter collection MODEL.")
    @click.option("--layout", type=click.Choice(["keep", "channels_last"]), default="keep", show_default=True,
                  help="channels_last turns a channels_first (Theano-era) model into an equivalent NHWC one.")
    @click.option("--trust-lambda", is_flag=True, default=False,
                  help="Evaluate Lambda layers' Python code from MODEL (symbolically, into ordinary layers). "
                       "Only for files you trust.")
    @functools.wraps(command)
    def wrapper(*args, arch, layout, trust_lambda, **kwargs):
        load = {"layout": layout}
        if arch is not None:
            load["arch"] = arch
        if trust_lambda:
            load["trust_lambda"] = True
        return command(*args, load=load, **kwargs)

    return wrapper
