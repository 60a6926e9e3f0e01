"""Entry point of the `kport` command. Each command lives in its own module."""
from __future__ import annotations

import sys

import click

from kport import __version__


class KportGroup(click.Group):
    """A click group that prints kport errors as one line and exits non-zero."""

    def invoke(self, ctx):
        from kport.errors import KportError

        try:
            return super().invoke(ctx)
        except KportError as err:
            click.echo(f"kport: error: {err.format()}", err=True)
            sys.exit(2)


@click.group(cls=KportGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kport")
def cli():
    """Port Keras models of every era to ONNX, PyTorch and TensorFlow, with parity checks."""


def _register():
    from kport.cli import inspect_cmd, ops_cmd, run_cmd, weights_cmd

    cli.add_command(inspect_cmd.inspect)
    cli.add_command(run_cmd.run)
    cli.add_command(ops_cmd.ops)
    cli.add_command(weights_cmd.weights)
    for module, name in (("convert", "convert"), ("check", "check")):
        try:
            mod = __import__(f"kport.cli.{module}", fromlist=[name])
        except ImportError:
            continue
        cli.add_command(getattr(mod, name))


_register()


def main():
    """Console-script entry point."""
    cli(prog_name="kport")


if __name__ == "__main__":
    main()
