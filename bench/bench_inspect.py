"""Benchmark: `kport inspect` of a ~100 MB ResNet50 .h5, end to end in fresh processes.

Builds ResNet50 with `tf_keras.applications` (weights=None, seeded; nothing is
downloaded) unless bench/results/resnet50.h5 exists (bench_onnx.py makes the
same file), then times `kport inspect` and, for scale, `python -c pass` with
the same interpreter, each as the median of --repeats fresh processes. Writes
bench/INSPECT.md with the date and machine. Target: under 1 s.

Usage: .venv/bin/python bench/bench_inspect.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = HERE / "results" / "resnet50.h5"
KPORT = str(Path(sys.executable).with_name("kport"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def make_model() -> None:
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    code = ("import tf_keras as k; k.utils.set_random_seed(0); "
            f"k.applications.ResNet50(weights=None).save(r'{MODEL}')")
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, capture_output=True)


def timed(cmd: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, env=ENV, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if not MODEL.exists():
        make_model()
    size_mb = MODEL.stat().st_size / 1e6
    # a regular install ships compiled bytecode; an editable checkout gets it here (see bench_onnx.compile_kport)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "kport")], check=True)
    inspect = timed([KPORT, "inspect", str(MODEL)], args.repeats)
    python = timed([sys.executable, "-c", "pass"], args.repeats)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    lines = [
        "# kport inspect benchmark", "",
        f"Run {stamp} on {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"1-minute load average {load:.1f} at the end (the machine is shared).", "",
        "| what | median (min) of fresh processes |", "|---|---|",
        f"| `kport inspect` ResNet50 .h5 ({size_mb:.0f} MB) | {statistics.median(inspect):.2f} s "
        f"({min(inspect):.2f} s) |",
        f"| `python -c pass` (interpreter start, for scale) | {statistics.median(python):.2f} s "
        f"({min(python):.2f} s) |", "",
        "Target: under 1 s. Reproduce: `.venv/bin/python bench/bench_inspect.py`.", ""]
    (HERE / "INSPECT.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
