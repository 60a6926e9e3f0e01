"""Parity: compare the outputs of two runs and report where they differ most.

An element passes when `|actual - expected| <= atol + rtol * |expected|` (the
numpy.allclose rule, with the expected side as reference). Reports name the
worst element of each output, its index and both values, so a failure says
where to look, not just "mismatch". Inputs for a check are generated from the
graph's input specs with a fixed seed, so runs are reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

ATOL = 1e-5
RTOL = 1e-4
# sequence length used when an input's non-batch axis is unknown (None)
DEFAULT_UNKNOWN_DIM = 8


@dataclass
class OutputDiff:
    """How one output of `actual` differs from `expected`.

    Attributes:
        name: the output name.
        shape: the expected shape.
        max_abs_diff: the largest |actual - expected| (inf for shape or NaN mismatches).
        worst_index: index of the element furthest outside tolerance (or of the largest difference).
        expected_value: the expected value there.
        actual_value: the actual value there.
        passed: every element within tolerance.
        problem: why the arrays could not be compared element-wise, if so.
    """

    name: str
    shape: tuple = ()
    max_abs_diff: float = 0.0
    worst_index: tuple = ()
    expected_value: float | None = None
    actual_value: float | None = None
    passed: bool = True
    problem: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "max_abs_diff": _json_float(self.max_abs_diff),
                "worst_index": list(self.worst_index), "expected": _json_float(self.expected_value),
                "actual": _json_float(self.actual_value), "passed": self.passed, "problem": self.problem}

    def describe(self) -> str:
        """One line: the output, the verdict and the worst element."""
        if self.problem:
            return f"{self.name}: FAIL ({self.problem})"
        verdict = "ok" if self.passed else "FAIL"
        where = f" at {list(self.worst_index)}" if self.worst_index else ""
        return (f"{self.name}: {verdict}, max |diff| {self.max_abs_diff:.3g}{where} "
                f"(expected {self.expected_value:.7g}, got {self.actual_value:.7g})")


@dataclass
class Comparison:
    """One pair of runs compared output by output."""

    expected: str = "expected"
    actual: str = "actual"
    outputs: list[OutputDiff] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)

    @property
    def worst(self) -> OutputDiff | None:
        """The output with the largest difference (failures first)."""
        if not self.outputs:
            return None
        return max(self.outputs, key=lambda o: (not o.passed, o.max_abs_diff))

    def to_dict(self) -> dict:
        return {"expected": self.expected, "actual": self.actual, "passed": self.passed,
                "outputs": [o.to_dict() for o in self.outputs]}


@dataclass
class ParityReport:
    """The verdict of one or more comparisons at one tolerance.

    Attributes:
        comparisons: each pair compared (the reference against one target).
        atol: absolute tolerance.
        rtol: relative tolerance.
        inputs: how the inputs were made (e.g. 'seeded normal, seed 0, batch 2').
    """

    comparisons: list[Comparison] = field(default_factory=list)
    atol: float = ATOL
    rtol: float = RTOL
    inputs: str = ""

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)

    ok = passed

    @property
    def worst(self) -> OutputDiff | None:
        """The single worst output over all comparisons."""
        candidates = [c.worst for c in self.comparisons if c.worst is not None]
        return max(candidates, key=lambda o: (not o.passed, o.max_abs_diff)) if candidates else None

    def summary(self) -> str:
        """One line: PASS/FAIL, what was compared and the worst difference."""
        verdict = "PASS" if self.passed else "FAIL"
        pairs = ", ".join(f"{c.actual} vs {c.expected}" for c in self.comparisons) or "nothing compared"
        worst = self.worst
        detail = f"; worst {worst.describe()}" if worst is not None else ""
        return f"parity {verdict} ({pairs}; atol={self.atol:g}, rtol={self.rtol:g}){detail}"

    def to_dict(self) -> dict:
        """A JSON-ready dict of the whole report."""
        return {"passed": self.passed, "atol": self.atol, "rtol": self.rtol, "inputs": self.inputs,
                "summary": self.summary(), "comparisons": [c.to_dict() for c in self.comparisons]}


def compare(expected: Sequence[np.ndarray] | dict, actual: Sequence[np.ndarray] | dict,
            atol: float = ATOL, rtol: float = RTOL, names: Sequence[str] | None = None,
            expected_label: str = "expected", actual_label: str = "actual") -> ParityReport:
    """Compares two lists (or name->array dicts) of outputs element by element.

    Args:
        expected: the reference outputs.
        actual: the outputs under test, in the same order (or with the same names).
        atol: absolute tolerance.
        rtol: relative tolerance, scaled by |expected|.
        names: output names for the report (default: dict keys or output_0..).
        expected_label: what produced `expected` (e.g. 'numpy').
        actual_label: what produced `actual` (e.g. 'onnxruntime').

    Returns:
        A ParityReport with one comparison.
    """
    if isinstance(expected, dict):
        names = list(names or expected.keys())
        actual = [actual[n] for n in expected] if isinstance(actual, dict) else list(actual)
        expected = list(expected.values())
    else:
        expected = list(expected)
        actual = list(actual.values()) if isinstance(actual, dict) else list(actual)
    names = list(names) if names is not None else [f"output_{i}" for i in range(len(expected))]
    comparison = Comparison(expected_label, actual_label)
    if len(expected) != len(actual):
        comparison.outputs.append(OutputDiff("outputs", max_abs_diff=float("inf"), passed=False,
                                             problem=f"{len(expected)} expected outputs, {len(actual)} actual"))
    for name, e, a in zip(names, expected, actual):
        comparison.outputs.append(diff_arrays(name, np.asarray(e), np.asarray(a), atol, rtol))
    return ParityReport([comparison], atol, rtol)


def diff_arrays(name: str, expected: np.ndarray, actual: np.ndarray, atol: float, rtol: float) -> OutputDiff:
    """Compares one pair of arrays; see `compare`."""
    if expected.shape != actual.shape:
        return OutputDiff(name, expected.shape, float("inf"), passed=False,
                          problem=f"shape {actual.shape}, expected {expected.shape}")
    if expected.size == 0:
        return OutputDiff(name, expected.shape)
    e = expected.astype(np.float64)
    a = actual.astype(np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - e)
        excess = diff - (atol + rtol * np.abs(e))
    # NaN/inf agree only where both sides hold the same non-finite value
    same_special = (np.isnan(e) & np.isnan(a)) | (np.isinf(e) & (e == a))
    diff = np.where(same_special, 0.0, diff)
    excess = np.where(same_special, -1.0, excess)
    bad = ~(excess <= 0)  # NaN excess (one side NaN) counts as bad
    if bad.any():  # the element furthest outside tolerance, NaN first
        flat = int(np.argmax(np.where(np.isnan(excess), np.inf, excess)))
    else:
        flat = int(np.argmax(diff))
    index = tuple(int(i) for i in np.unravel_index(flat, expected.shape))
    max_diff = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))
    return OutputDiff(name, expected.shape, max_diff, index, float(expected[index]), float(actual[index]),
                      passed=not bool(bad.any()))


def make_inputs(graph, seed: int = 0, batch: int = 2, unknown_dim: int = DEFAULT_UNKNOWN_DIM
                ) -> dict[str, np.ndarray]:
    """Seeded inputs for every model input, from the graph's input specs.

    Float inputs are standard normal. Inputs read by an index-taking layer
    (Embedding: `input_dim`) get ids in `[0, input_dim)`, whatever their
    declared dtype; other integer inputs get `[0, 10)`.

    Args:
        graph: the IR graph.
        seed: the random seed.
        batch: the batch size used for the symbolic batch axis.
        unknown_dim: the size used for any other unknown axis.
    """
    rng = np.random.default_rng(seed)
    readers = graph.consumers()
    feeds = {}
    for spec in graph.inputs:
        shape = tuple(batch if i == 0 and d is None else (unknown_dim if d is None else int(d))
                      for i, d in enumerate(spec.shape))
        dtype = np.dtype(spec.dtype)
        index_bound = _index_bound(graph, readers.get(spec.name, []))
        if dtype.kind in "iu" or index_bound is not None:
            # token ids; tf.keras often declares them float32 and the Embedding casts
            feeds[spec.name] = rng.integers(0, index_bound or 10, size=shape).astype(dtype)
        elif dtype.kind == "b":
            feeds[spec.name] = rng.random(shape) < 0.5
        else:
            feeds[spec.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def _index_bound(graph, nodes) -> int | None:
    """The exclusive upper bound of valid ids when an input feeds index-taking layers, else None."""
    bounds = []
    for node in nodes:
        op = graph.layers[node.layer].op
        for attr in ("input_dim", "num_tokens", "max_tokens", "vocabulary_size"):
            value = getattr(op, attr, None)
            if isinstance(value, (int, np.integer)) and value > 0:
                bounds.append(int(value))
                break
    return min(bounds) if bounds else None


def _json_float(value):
    if value is None:
        return None
    value = float(value)
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
