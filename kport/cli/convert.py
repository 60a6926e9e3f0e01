"""`kport convert MODEL --to onnx`: write MODEL in another format and prove it."""
from __future__ import annotations

import sys

import click

from kport.cli.options import load_options, model_argument, weights_option


@click.command()
@model_argument
@weights_option
@load_options
@click.option("--to", "to", default="onnx", show_default=True,
              type=click.Choice(["onnx", "torch", "torchscript", "pt2", "keras", "h5", "savedmodel", "tf", "kport"]),
              help="Target format: ONNX; a PyTorch model folder (model.py + weights), TorchScript or "
                   "torch.export; a Keras 3 .keras or tf.keras .h5 file; a TensorFlow SavedModel; a .kport file.")
@click.option("-o", "--output", default=None, type=click.Path(),
              help="Output file or folder (default: MODEL with the target's suffix).")
@click.option("--opset", default=17, show_default=True, type=int, help="ONNX opset (13 or newer).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Run the source (numpy reference) and the written file on seeded inputs and compare.")
@click.option("--inputs-as-nchw", is_flag=True, help="Take rank-4/5 image inputs channels-first (NCHW).")
@click.option("--no-optimize", is_flag=True, help="Skip the graph optimization passes.")
@click.option("--atol", default=1e-5, show_default=True, type=float, help="Absolute tolerance of the check.")
@click.option("--rtol", default=1e-4, show_default=True, type=float, help="Relative tolerance of the check.")
@click.option("--keep-on-mismatch", is_flag=True, help="Keep the output even when the check fails.")
@click.option("--via", default=None, type=click.Choice(["tf2onnx"]),
              help="Make the ONNX file with tf2onnx from the tf.keras file kport writes (a cross-check of "
                   "kport's exporter; needs TensorFlow, tf_keras and tf2onnx).")
def convert(model, weights, load, to, output, opset, check, inputs_as_nchw, no_optimize, atol, rtol,
            keep_on_mismatch, via):
    """Convert MODEL to another format and check the result matches.

    The output appears only when the check passes (or with --no-check); a failed
    check prints the worst difference and exits with status 1.
    """
    from kport import api

    options = {}
    if inputs_as_nchw:
        options["inputs_as_nchw"] = True
    if no_optimize:
        options["optimize"] = False
    if via:
        options["via"] = via
    report = api.convert(model, output, to=to, opset=opset, check=check, weights=weights, load=load,
                         atol=atol, rtol=rtol, keep_on_mismatch=keep_on_mismatch, **options)
    click.echo(report.summary())
    if not report.ok:
        sys.exit(1)
