"""`kport weights`: move trained weights between a Keras model and a torch state_dict."""
from __future__ import annotations

import click

from kport.cli.options import load_options, model_argument, weights_option


@click.command()
@model_argument
@weights_option
@load_options
@click.option("--to", "to", type=click.Choice(["torch"]), default=None,
              help="Export MODEL's weights as the state_dict of the generated torch module.")
@click.option("--from", "from_", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A (fine-tuned) state_dict (.safetensors or torch .pt) to put back onto MODEL.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="weights.safetensors with --to; a .keras, .h5 or .kport model file with --from.")
def weights(model, weights, load, to, from_, output):
    """Export MODEL's weights to torch, or import a torch state_dict back into a Keras file."""
    import kport
    from kport import migrate
    from kport.errors import KportError

    if (to is None) == (from_ is None):
        raise KportError("give exactly one of --to torch or --from STATE_DICT")
    graph = kport.load(model, weights=weights, **load)
    if to:
        state = migrate.export_state_dict(graph, output)
        click.echo(f"wrote {len(state)} tensors to {output}")
    else:
        tuned = migrate.import_state_dict(graph, from_)
        migrate.write_keras_file(tuned, output)
        click.echo(f"wrote {output} with the weights of {from_}")
