"""The library API behind `kport convert` and `kport check`.

`convert` reads a model, writes it in a target format and, by default, proves
the written file: it runs the numpy reference and the target file on the same
seeded inputs and compares them. The result only appears at the destination
when the proof passes (or was skipped): a conversion that fails its parity
check raises `ParityError` and leaves no file, unless `keep_on_mismatch=True`
asks to keep it for inspection. Targets are a small registry so more formats
(torch, tf, keras) plug in beside ONNX.
"""
from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from kport.errors import KportError, ParityError
from kport.parity import ATOL, RTOL, ParityReport, compare, make_inputs


@dataclass(frozen=True)
class Target:
    """One output format of `convert`.

    Attributes:
        name: the `to=` name.
        suffix: the default file suffix.
        write: 'module:function' taking (graph, path, **options) and returning the paths written.
        run_file: 'module:function' taking (path, feeds, output_names) and returning the outputs,
            used to prove the written file; empty when the format cannot be run here.
        options: the option names `write` accepts.
    """

    name: str
    suffix: str
    write: str
    run_file: str = ""
    options: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "onnx": Target("onnx", ".onnx", "kport.exporters.onnx.export:write_onnx",
                   "kport.runtime.onnxruntime_backend:run_onnx_file", ("opset", "optimize", "inputs_as_nchw")),
    "torch": Target("torch", "_torch", "kport.exporters.torch.package:write_torch",
                    "kport.exporters.torch.package:run_torch_folder"),
    "torchscript": Target("torchscript", ".ts.pt", "kport.exporters.torch.package:write_torchscript_target",
                          "kport.exporters.torch.package:run_torchscript_file"),
    "pt2": Target("pt2", ".pt2", "kport.exporters.torch.package:write_pt2_target",
                  "kport.exporters.torch.package:run_pt2_file"),
    "keras": Target("keras", ".keras", "kport.exporters.keras.targets:write_keras_target",
                    "kport.exporters.keras.targets:run_keras_file"),
    "h5": Target("h5", ".h5", "kport.exporters.keras.targets:write_h5_target",
                 "kport.exporters.keras.targets:run_h5_file"),
    "savedmodel": Target("savedmodel", "_savedmodel", "kport.exporters.keras.targets:write_savedmodel_target",
                         "kport.exporters.keras.targets:run_savedmodel"),
    "kport": Target("kport", ".kport", "kport.exporters.keras.targets:write_kport_target",
                    "kport.exporters.keras.targets:run_kport_file"),
}
TARGETS["tf"] = TARGETS["savedmodel"]


# (target, via) -> the writer that makes the target through another converter (a cross-check)
VIA: dict[tuple[str, str], Target] = {
    ("onnx", "tf2onnx"): Target("onnx", ".onnx", "kport.exporters.keras.via_tf2onnx:write_onnx_via_tf2onnx",
                                "kport.runtime.onnxruntime_backend:run_onnx_file", ("opset",)),
}


def register_target(target: Target) -> None:
    """Adds (or replaces) a conversion target."""
    TARGETS[target.name] = target


def _resolve(ref: str) -> Callable:
    module, func = ref.split(":")
    return getattr(importlib.import_module(module), func)


@dataclass
class ConversionReport:
    """What `convert` did.

    Attributes:
        source: the input model file (or the graph's name).
        outputs: the files written (the model first; external data after).
        target: the format name.
        options: the options the target was written with.
        seconds: wall time of the whole conversion.
        export_seconds: time spent writing the target file.
        check_seconds: time spent proving it (0 without a check).
        size_bytes: bytes written.
        parity: the parity report, or None when unchecked.
        kept: whether the outputs are in place.
    """

    source: str = ""
    outputs: list[str] = field(default_factory=list)
    target: str = "onnx"
    options: dict = field(default_factory=dict)
    seconds: float = 0.0
    export_seconds: float = 0.0
    check_seconds: float = 0.0
    size_bytes: int = 0
    parity: ParityReport | None = None
    kept: bool = True

    @property
    def ok(self) -> bool:
        """True unless a parity check ran and failed."""
        return self.parity is None or self.parity.passed

    @property
    def output(self) -> str:
        return self.outputs[0] if self.outputs else ""

    def summary(self) -> str:
        """One line: what was written, and the parity verdict with the worst difference."""
        size = f"{self.size_bytes / 1e6:.1f} MB" if self.size_bytes >= 1e5 else f"{self.size_bytes / 1e3:.1f} kB"
        written = f"{self.output} ({size}) in {self.seconds:.2f} s" if self.kept else "nothing (not kept)"
        check = self.parity.summary() if self.parity is not None else "parity not checked"
        return f"{'OK' if self.ok else 'FAIL'}: {self.target} -> {written}; {check}"

    def to_dict(self) -> dict:
        return {"ok": self.ok, "source": self.source, "outputs": self.outputs, "target": self.target,
                "options": {k: v for k, v in self.options.items() if isinstance(v, (int, float, str, bool, list))},
                "seconds": self.seconds, "export_seconds": self.export_seconds, "check_seconds": self.check_seconds,
                "size_bytes": self.size_bytes, "kept": self.kept,
                "parity": self.parity.to_dict() if self.parity is not None else None}


def _load(model, weights=None, load: dict | None = None):
    from kport.ir.graph import Graph

    if isinstance(model, Graph):
        return model
    import kport

    return kport.load(model, weights=weights, **(load or {}))


def default_output(src, to: str = "onnx") -> str:
    """MODEL with the target's suffix (model.h5 -> model.onnx)."""
    target = _target(to)
    root, _ = os.path.splitext(os.fspath(src))
    return root + target.suffix


def _target(to: str) -> Target:
    if to not in TARGETS:
        raise KportError(f"unknown target format '{to}'", hint=f"choose one of {', '.join(sorted(TARGETS))}")
    return TARGETS[to]


def convert(src, dst=None, to: str = "onnx", opset: int = 17, check: bool = True, weights=None, *,
            load: dict | None = None,
            atol: float = ATOL, rtol: float = RTOL, keep_on_mismatch: bool = False, seed: int = 0,
            batch: int = 2, **options) -> ConversionReport:
    """Converts a model file (or IR graph) to another format, proving the result.

    Args:
        src: a model file kport reads, or a `kport.ir.Graph`.
        dst: the output path (default: `src` with the target's suffix).
        to: the target format ('onnx'; more register in `TARGETS`).
        opset: the ONNX opset (ONNX target).
        check: run the numpy reference and the written file on seeded inputs and compare.
        weights: a separate weights file for an architecture-only `src`.
        load: options for `kport.load` (`layout`, `arch`, `trust_lambda`).
        atol: absolute tolerance of the check.
        rtol: relative tolerance of the check.
        keep_on_mismatch: keep the file even when the check fails (the report says FAIL).
        seed: seed of the check's inputs.
        batch: batch size of the check's inputs.
        **options: target options, e.g. `inputs_as_nchw=True`, `optimize=False`; `via='tf2onnx'` makes
            the ONNX file with tf2onnx from kport's tf.keras file instead (a cross-check; needs TensorFlow).

    Returns:
        A ConversionReport.

    Raises:
        ParityError: the check failed (and `keep_on_mismatch` is False); nothing was written.
            The error's `report` attribute holds the ConversionReport.
        KportError: the model cannot be read or expressed in the target format.
    """
    start = time.perf_counter()
    target = _target(to)
    via = options.pop("via", None)
    if via is not None:
        if (to, via) not in VIA:
            raise KportError(f"--via {via} does not make {to} files",
                             hint=f"--via takes: {', '.join(f'{v} (--to {t})' for t, v in VIA)}")
        target = VIA[(to, via)]
    graph = _load(src, weights, load)
    if to != "kport":  # a structure-only graph may be saved as .kport, not exported
        graph.require_weights(f"convert to {to}")
    source = os.fspath(src) if not hasattr(src, "nodes") else (graph.source.path or graph.name)
    if dst is None:
        if hasattr(src, "nodes"):
            raise KportError("convert needs a destination path when given a graph", hint="pass dst=")
        dst = default_output(src, to)
    dst = os.fspath(dst)
    if not hasattr(src, "nodes") and os.path.abspath(dst) == os.path.abspath(os.fspath(src)):
        raise KportError("the output would overwrite the input model", path=dst,
                         hint="choose another output path with -o")
    if "opset" in target.options:
        options["opset"] = opset
    unknown = sorted(set(options) - set(target.options))
    if unknown:
        raise KportError(f"the {to} target has no option {', '.join(unknown)}",
                         hint=f"its options are {', '.join(target.options) or 'none'}")
    report = ConversionReport(source=source, target=to, options=dict(options, **({"via": via} if via else {})))
    parent = os.path.dirname(os.path.abspath(dst))
    os.makedirs(parent, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".kport-", dir=parent)
    try:
        staged = os.path.join(stage, os.path.basename(dst))
        t0 = time.perf_counter()
        written = _resolve(target.write)(graph, staged, **options)
        report.export_seconds = time.perf_counter() - t0
        report.size_bytes = sum(_size(p) for p in written)
        if check and target.run_file:
            t0 = time.perf_counter()
            report.parity = _prove(graph, target, staged, options, atol, rtol, seed, batch)
            report.check_seconds = time.perf_counter() - t0
        report.kept = report.ok or keep_on_mismatch
        if report.kept:
            report.outputs = _place(written, stage, parent)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    report.seconds = time.perf_counter() - start
    if not report.kept:
        err = ParityError(f"the converted model differs from the source: {report.parity.summary()}",
                          path=source, hint="nothing was written; use --keep-on-mismatch to keep the file")
        err.report = report
        raise err
    return report


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def _place(written: list[str], stage: str, parent: str) -> list[str]:
    """Moves the staged files into place, side files first and the model last."""
    finals = [os.path.join(parent, os.path.relpath(p, stage)) for p in written]
    for path, final in list(zip(written, finals))[::-1]:
        if os.path.isdir(final) and not os.path.isdir(path):
            raise KportError("the output path is a folder", path=final, hint="choose a file name")
        if os.path.isdir(path) and os.path.exists(final):
            shutil.rmtree(final) if os.path.isdir(final) else os.remove(final)
        os.replace(path, final)
    return finals


def _prove(graph, target: Target, path: str, options: dict, atol, rtol, seed, batch) -> ParityReport:
    from kport.runtime import get_runtime

    feeds = make_inputs(graph, seed=seed, batch=batch)
    expected = get_runtime("numpy", graph).run(feeds)
    file_feeds = _as_written(graph, feeds, options)
    actual = _resolve(target.run_file)(path, file_feeds, list(graph.outputs))
    report = compare(expected, actual, atol, rtol, names=graph.outputs, expected_label="numpy",
                     actual_label=f"{target.name} file")
    report.inputs = f"seeded normal inputs, seed {seed}, batch {batch}"
    return report


def _as_written(graph, feeds: dict[str, np.ndarray], options: dict) -> dict[str, np.ndarray]:
    """The inputs in the layout the written file expects (channels-first where asked)."""
    nchw = options.get("inputs_as_nchw")
    if not nchw:
        return feeds
    from kport.exporters.onnx.export import nchw_inputs

    chosen = nchw_inputs(graph, nchw)
    return {k: (np.ascontiguousarray(np.moveaxis(v, -1, 1)) if k in chosen else v) for k, v in feeds.items()}


def check(model, other=None, backends: Sequence[str] = ("numpy", "onnxruntime"), atol: float = ATOL,
          rtol: float = RTOL, inputs=None, *, weights=None, seed: int = 0, batch: int = 2,
          device: str = "cpu", load: dict | None = None) -> ParityReport:
    """Checks that backends (or two files) compute the same outputs.

    Without `other`, runs the model on every backend and compares each with the
    first. With `other` (an ONNX file made by any converter, or another model
    file kport reads), runs the model on the first backend and compares the
    other file with it. ONNX inputs/outputs are matched by name, else by position.

    Args:
        model: a model file or an IR graph.
        other: an optional second file to compare with the model.
        backends: backend names; the first is the reference.
        atol: absolute tolerance.
        rtol: relative tolerance.
        inputs: arrays by input name, a list in input order, or an .npz path;
            default: seeded inputs from the input specs.
        weights: a separate weights file for an architecture-only model.
        load: options for `kport.load` (`layout`, `arch`, `trust_lambda`).
        seed: seed of generated inputs.
        batch: batch size of generated inputs (a fixed batch in `other` wins).
        device: 'cpu' or 'cuda' for the backends that support it.

    Returns:
        A ParityReport (`report.passed`, `report.summary()`, `report.to_dict()`).
    """
    from kport.runtime import get_runtime
    from kport.runtime.base import bind_inputs

    backends = [b for b in backends if b] or ["numpy"]
    if other is None and len(backends) < 2:
        raise KportError(f"nothing to compare: one backend ({backends[0]}) and no second file",
                         hint="name two or more backends, e.g. --backends numpy,onnxruntime, or give an ONNX file")
    graph = _load(model, weights, load)
    other_is_onnx = other is not None and _is_onnx(other)
    if other_is_onnx and inputs is None:
        from kport.runtime.onnxruntime_backend import onnx_batch_size

        batch = onnx_batch_size(str(other)) or batch
    feeds, described = _inputs(graph, inputs, seed, batch)
    feeds = bind_inputs(graph, feeds)
    reference = get_runtime(backends[0], graph, device).run(feeds)
    comparisons = []
    if other is None:
        for name in backends[1:]:
            actual = get_runtime(name, graph, device).run(feeds)
            comparisons += compare(reference, actual, atol, rtol, names=graph.outputs, expected_label=backends[0],
                                   actual_label=name).comparisons
    else:
        if other_is_onnx:
            from kport.runtime.onnxruntime_backend import run_onnx_file

            actual = run_onnx_file(str(other), feeds, list(graph.outputs), device)
        else:
            other_graph = _load(other)
            actual = get_runtime(backends[0], other_graph, device).run(list(feeds.values()))
        comparisons += compare(reference, actual, atol, rtol, names=graph.outputs, expected_label=backends[0],
                               actual_label=os.path.basename(os.fspath(other))).comparisons
    return ParityReport(comparisons, atol, rtol, described)


def _inputs(graph, inputs, seed: int, batch: int):
    if inputs is None:
        return make_inputs(graph, seed=seed, batch=batch), f"seeded inputs, seed {seed}, batch {batch}"
    if isinstance(inputs, (str, os.PathLike)):
        from kport.errors import FormatError

        try:
            with np.load(inputs, allow_pickle=False) as data:
                return {n: data[n] for n in data.files}, f"arrays from {os.fspath(inputs)}"
        except (ValueError, OSError) as err:
            raise FormatError(f"cannot read the input arrays ({err})", path=inputs,
                              hint="give an .npz with one array per model input")
    return inputs, "given arrays"


def _is_onnx(path) -> bool:
    """True for an ONNX protobuf file (by suffix, else by parsing its header)."""
    path = os.fspath(path)
    if path.lower().endswith(".onnx"):
        return True
    from kport.importers.detect import sniff

    try:
        sniff(path)
        return False
    except KportError:
        pass
    try:
        import onnx

        onnx.load(path, load_external_data=False)
        return True
    except Exception:  # noqa: BLE001 - not parseable as ONNX either
        return False
