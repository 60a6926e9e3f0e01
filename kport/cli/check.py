"""`kport check MODEL [OTHER]`: compare backends, or a model with another converter's file."""
from __future__ import annotations

import json
import sys

import click

from kport.cli.options import load_options, model_argument, weights_option


@click.command()
@model_argument
@click.argument("other", required=False, type=click.Path(exists=True, dir_okay=False))
@weights_option
@load_options
@click.option("--backends", default="numpy,onnxruntime", show_default=True,
              help="Comma-separated backends; the first is the reference.")
@click.option("--atol", default=1e-5, show_default=True, type=float, help="Absolute tolerance.")
@click.option("--rtol", default=1e-4, show_default=True, type=float, help="Relative tolerance.")
@click.option("--input", "input_path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="npz of input arrays (default: seeded random inputs).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the generated inputs.")
@click.option("--batch", default=2, show_default=True, type=int, help="Batch size of the generated inputs.")
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda"]))
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False),
              help="Also write the full report as JSON here.")
def check(model, other, weights, load, backends, atol, rtol, input_path, seed, batch, device, json_path):
    """Check that backends agree on MODEL, or that OTHER (e.g. an ONNX file) matches it.

    Exits with status 1 when any output differs beyond |a-b| <= atol + rtol*|b|.
    """
    from kport import api
    from kport.util.atomic import atomic_write

    names = [b.strip() for b in backends.split(",") if b.strip()]
    report = api.check(model, other, backends=names, atol=atol, rtol=rtol, inputs=input_path, weights=weights,
                       load=load, seed=seed, batch=batch, device=device)
    for comparison in report.comparisons:
        for out in comparison.outputs:
            click.echo(f"  {comparison.actual} vs {comparison.expected}: {out.describe()}")
    click.echo(report.summary())
    if json_path:
        with atomic_write(json_path) as tmp:
            with open(tmp, "w") as fh:
                json.dump(report.to_dict(), fh, indent=2)
    if not report.passed:
        sys.exit(1)
