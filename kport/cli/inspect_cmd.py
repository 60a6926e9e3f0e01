"""`kport inspect MODEL`: a Keras-style summary of any model file."""
from __future__ import annotations

import json

import click

from kport.cli.options import load_options, model_argument, weights_option


@click.command()
@model_argument
@weights_option
@load_options
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON summary.")
def inspect(model, weights, load, as_json):
    """Summarize MODEL: layers, output shapes, parameter counts, format and Keras version."""
    import kport
    from kport.summary import summarize

    graph = kport.load(model, weights=weights, **load)
    info = summarize(graph)
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo(format_summary(info))


def format_summary(info: dict) -> str:
    """Renders a summary dict as Keras's `model.summary()` does."""
    rows = [(f"{l['name']} ({l['kind']})", ", ".join(_shape(s) for s in l["output_shapes"]),
             f"{l['params']:,}", ", ".join(l["inputs"])) for l in info["layers"]]
    head = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(4)]
    src = info["source"]
    out = [f'Model: "{info["name"]}"  ({info["kind"]})',
           f"File: {src['path']}",
           f"Format: {src['format']}   Keras: {src['keras_version'] or 'unknown'}   "
           f"Backend: {src['backend'] or 'unknown'}"]
    line = "  ".join("-" * w for w in widths)
    out += [line, "  ".join(h.ljust(w) for h, w in zip(head, widths)), line.replace("-", "=")]
    for r in rows:
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    out.append(line.replace("-", "="))
    out.append(f"Total params: {info['params']['total']:,}")
    out.append(f"Trainable params: {info['params']['trainable']:,}")
    out.append(f"Non-trainable params: {info['params']['non_trainable']:,}")
    out.append("Inputs: " + ", ".join(f"{i['name']} {_shape(i['shape'])} {i['dtype']}" for i in info["inputs"]))
    out.append("Outputs: " + ", ".join(f"{o['name']} {_shape(o['shape'])}" for o in info["outputs"]))
    return "\n".join(out)


def _shape(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
