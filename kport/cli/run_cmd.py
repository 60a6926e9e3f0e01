"""`kport run MODEL --input in.npz --output out.npz`: run a model on a backend."""
from __future__ import annotations

import click

from kport.cli.options import load_options, model_argument, weights_option


@click.command()
@model_argument
@weights_option
@load_options
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="npz with one array per model input (matched by name, else by position).")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False),
              help="npz to write the outputs to, named after the model outputs, in order.")
@click.option("--backend", default="numpy", show_default=True,
              type=click.Choice(["numpy", "onnxruntime", "torch", "tf"]))
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda"]))
def run(model, weights, load, input_path, output_path, backend, device):
    """Run MODEL on the arrays in --input and save its outputs to --output."""
    import numpy as np

    import kport
    from kport.errors import FormatError
    from kport.util.atomic import atomic_write

    graph = kport.load(model, weights=weights, **load)
    try:
        with np.load(input_path, allow_pickle=False) as data:
            feeds = {name: data[name] for name in data.files}
    except (ValueError, OSError) as err:
        raise FormatError(f"cannot read the input arrays ({err})", path=input_path,
                          hint="give an .npz written by numpy.savez with one array per model input")
    outputs = kport.run(graph, feeds, backend=backend, device=device)
    with atomic_write(output_path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **dict(zip(graph.outputs, outputs)))
    for name, arr in zip(graph.outputs, outputs):
        click.echo(f"{name}: shape {tuple(arr.shape)} {arr.dtype}")
