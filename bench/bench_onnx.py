"""Benchmark: Keras .h5 -> ONNX with kport vs tf2onnx vs Keras 3 `model.export(format="onnx")`.

One run does everything on this machine:
  1. builds ResNet50, MobileNetV2 and VGG16 with `tf_keras.applications` (weights=None, random
     init, seeded; nothing is downloaded), saves each as .h5 with a seeded input and Keras's output;
  2. per model, times end-to-end conversion in fresh processes (process start to file written):
     `kport convert --no-check` (median of --repeats, with peak RSS), tf2onnx (`from_keras`), and
     Keras 3 (`load_model` + `export(format="onnx")`), recording failures as such;
  3. measures ONNX Runtime latency (batch 1 and 8, median) of every exported graph and checks
     each against Keras's own output;
  4. prints a markdown table and writes it to bench/README.md with the date and machine.

Usage: .venv/bin/python bench/bench_onnx.py [--models resnet50,mobilenetv2,vgg16] [--repeats 3]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / "results"
PY = sys.executable
KPORT = str(Path(PY).with_name("kport"))
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
MEMORY_CAP_MB = 12_000  # half this machine's memory; earlier runs saw tf2onnx and Keras 3 OOM-killed at ~23 GB on VGG16
MODELS = {"resnet50": "ResNet50", "mobilenetv2": "MobileNetV2", "vgg16": "VGG16"}

_MAKE = """
import sys, numpy as np, tf_keras
name, cls, path, ref = sys.argv[1:5]
tf_keras.utils.set_random_seed(0)
# logits (no softmax): over 1000 classes a random-init softmax is ~0.001 everywhere and hides differences
model = getattr(tf_keras.applications, cls)(weights=None, input_shape=(224, 224, 3), classifier_activation=None)
model.save(path)
x = np.random.default_rng(0).standard_normal((2, 224, 224, 3)).astype("float32")
np.savez(ref, x=x, y=model.predict(x, verbose=0))
"""

_TF2ONNX = """
import sys
import tf_keras, tensorflow as tf, tf2onnx
src, dst = sys.argv[1:3]
model = tf_keras.models.load_model(src, compile=False)
spec = [tf.TensorSpec((None, *model.inputs[0].shape[1:]), tf.float32, name=model.inputs[0].name.split(":")[0])]
tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=dst)
"""

# Keras 3 cannot load some tf_keras .h5 files (e.g. DepthwiseConv2D's `groups`); then the same application
# is rebuilt in Keras 3 and the .h5 weights loaded into it, and `<dst>.how` says so.
_KERAS3 = """
import sys
import numpy as np, keras
src, dst, cls = sys.argv[1:4]
try:
    model = keras.models.load_model(src, compile=False)
    how = "loaded the .h5"
except Exception as err:
    model = getattr(keras.applications, cls)(weights=None, input_shape=(224, 224, 3), classifier_activation=None)
    model.load_weights(src)
    how = "rebuilt in Keras 3 + load_weights (load_model failed: %s)" % str(err).splitlines()[-1][:120]
model(np.zeros((1, 224, 224, 3), "float32"))  # export refuses a model that was never called
model.export(dst, format="onnx")
open(dst + ".how", "w").write(how)
"""


def compile_kport() -> None:
    """Writes kport's bytecode once, as `pip install` does for a regular install.

    An editable checkout has no .pyc files until a run writes them, and none are
    written under PYTHONDONTWRITEBYTECODE; timing kport's source compilation in
    every fresh process would measure the checkout, not the tool.
    """
    subprocess.run([PY, "-m", "compileall", "-q", str(HERE.parent / "kport")], check=True)


def run_timed(cmd: list[str], timeout: int = 1800) -> tuple[float, int, int, str]:
    """Runs a command; returns (seconds, exit status, peak RSS in MB of that process, stderr tail).

    Peak RSS comes from GNU time wrapped around the command: a child forked straight from
    this (large) bench process would inherit the bench's own high-water mark in ru_maxrss.
    A run whose memory passes MEMORY_CAP_MB is killed (status -9), so an exporter that
    blows up cannot take the shared machine down with it.
    """
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".rss") as rss, tempfile.TemporaryFile() as err:
        wrapped = ([TIME, "-f", "%M", "-o", rss.name] if TIME else []) + cmd
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, env=ENV, stdout=subprocess.DEVNULL, stderr=err)
        capped = ""
        while proc.poll() is None:
            if tree_rss_mb(proc.pid) > MEMORY_CAP_MB:
                capped = f"over the {MEMORY_CAP_MB} MB memory cap"
            elif time.perf_counter() - start > timeout:
                capped = f"over the {timeout} s time limit"
            if capped:
                kill_tree(proc.pid)
                proc.wait()
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        err.seek(0)
        text_err = err.read().decode(errors="replace")[-20000:]
        if capped:
            text_err += f"\nKilled by the bench: {capped}"
        lines = Path(rss.name).read_text().strip().splitlines()
    peak = int(lines[-1]) // 1024 if lines and lines[-1].isdigit() else 0
    if "memory" in capped:
        peak = max(peak, MEMORY_CAP_MB)
    code = -9 if capped else proc.returncode
    return seconds, code, peak, text_err


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return pids


def tree_rss_mb(pid: int) -> int:
    """Resident memory of a process and its descendants, in MB."""
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) // 1024
        except OSError:
            pass
    return total


def kill_tree(pid: int) -> None:
    """Kills a process and the processes it started (children first)."""
    import signal

    for p in reversed(_tree(pid)):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def last_error(stderr: str, code: int) -> str:
    """The line of a failed run's stderr that says why (TF's log lines skipped)."""
    lines = [ln.strip() for ln in stderr.splitlines()
             if ln.strip() and not re.match(r"^[IWEF]\d{4} ", ln.strip()) and "Warning" not in ln]
    errors = [ln for ln in lines if re.search(r"(Error|Exception|Killed|error:)", ln)]
    text = (errors or lines or [f"exit status {code}"])[-1]
    return f"{text[:200]} (exit status {code})"


def make_models(names: list[str]) -> dict[str, dict]:
    WORK.mkdir(parents=True, exist_ok=True)
    info = {}
    for name in names:
        h5, ref = WORK / f"{name}.h5", WORK / f"{name}.ref.npz"
        if not h5.exists() or not ref.exists():
            print(f"building {MODELS[name]} with tf_keras ...", flush=True)
            seconds, rc, _, err = run_timed([PY, "-c", _MAKE, name, MODELS[name], str(h5), str(ref)])
            if rc != 0:
                raise SystemExit(f"could not build {name}: {err}")
        import h5py

        with h5py.File(h5, "r") as f:
            nbytes = []
            f["model_weights"].visititems(lambda k, v: nbytes.append(v.nbytes) if isinstance(v, h5py.Dataset) else None)
        info[name] = {"h5": h5, "ref": ref, "weights_mb": sum(nbytes) / 2**20}
    return info


def convert_all(name: str, h5: Path, repeats: int) -> dict:
    out = {}
    kport_path = WORK / f"{name}.kport.onnx"
    runs = [run_timed([KPORT, "convert", str(h5), "--to", "onnx", "--no-check", "-o", str(kport_path)])
            for _ in range(repeats)]
    failed = [r for r in runs if r[1] != 0]
    out["kport"] = {"seconds": statistics.median(r[0] for r in runs), "peak_mb": max(r[2] for r in runs),
                    "path": kport_path, "error": failed[0][3] if failed else None}
    for tool, script in (("tf2onnx", _TF2ONNX), ("keras3", _KERAS3)):
        path = WORK / f"{name}.{tool}.onnx"
        for stale in (path, Path(str(path) + ".how")):
            if stale.exists():
                stale.unlink()
        seconds, rc, peak, err = run_timed([PY, "-c", script, str(h5), str(path), MODELS[name]])
        Path(f"{path}.log").write_text(err)
        ok = rc == 0 and path.exists()
        how = Path(str(path) + ".how")
        out[tool] = {"seconds": seconds, "peak_mb": peak, "path": path if ok else None,
                     "error": None if ok else last_error(err, rc),
                     "how": how.read_text() if how.exists() else None}
    return out


def latencies_ms(paths: dict[str, Path], batch: int, runs: int, threads: int = 0) -> dict[str, dict]:
    """ONNX Runtime latency per file, runs interleaved across files, with ratios to kport's.

    Round-robin timing spreads the load of a shared machine evenly over the tools
    instead of penalizing whichever ran during a busy spell. Each round times
    every tool once, back to back, so the per-round ratio kport/tool compares
    runs that saw the same load; its median is the latency ratio reported.
    """
    import onnxruntime as ort

    sessions, feeds = {}, {}
    if "kport" in paths:  # a second session of kport's own file: the ratio it gets is the noise floor
        paths = {**paths, "kport_copy": paths["kport"]}
    for tool, path in paths.items():
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        x = np.random.default_rng(1).standard_normal((batch, 224, 224, 3)).astype(np.float32)
        if inp.shape[1] == 3:
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        sessions[tool], feeds[tool] = sess, {inp.name: x}
        for _ in range(3):
            sess.run(None, feeds[tool])
    times: dict[str, list[float]] = {tool: [] for tool in paths}
    order = list(sessions)
    for i in range(runs):
        # alternate the order so no tool always runs first (caches, frequency ramps)
        for tool in (order if i % 2 == 0 else order[::-1]):
            t0 = time.perf_counter()
            sessions[tool].run(None, feeds[tool])
            times[tool].append((time.perf_counter() - t0) * 1000)
    out = {}
    for tool, t in times.items():
        # the median, and the minimum: on a shared machine the fastest run is the one least disturbed
        entry = {"median": statistics.median(t), "min": min(t)}
        if "kport" in times and tool != "kport":
            entry["ratio_kport"] = statistics.median(k / o for k, o in zip(times["kport"], t))
        out[tool] = entry
    return out


def diff_vs_keras(path: Path, ref: Path) -> tuple[float, float]:
    """(max |ONNX - Keras|, that divided by max |Keras|) on the saved seeded batch."""
    import onnxruntime as ort

    data = np.load(ref)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {sess.get_inputs()[0].name: data["x"]})
    diff = float(np.abs(y - data["y"]).max())
    return diff, diff / max(float(np.abs(data["y"]).max()), 1e-30)


def node_count(path: Path) -> tuple[int, int]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return len(model.graph.node), sum(n.op_type == "Transpose" for n in model.graph.node)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}"


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("kport", "onnx", "onnxruntime", "tensorflow-cpu", "tf_keras", "keras", "tf2onnx", "numpy", "protobuf"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} (not installed)")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet50,mobilenetv2,vgg16")
    parser.add_argument("--repeats", type=int, default=3, help="kport conversion runs (median reported)")
    parser.add_argument("--latency-runs", type=int, default=60,
                        help="ONNX Runtime rounds at batch 1 (a third of them at batch 8)")
    parser.add_argument("--threads", type=int, default=1,
                        help="ONNX Runtime intra-op threads (0 = all cores); 1 keeps a shared machine's load "
                             "from swamping the comparison")
    parser.add_argument("--readme", default=str(HERE / "README.md"))
    parser.add_argument("--from-json", default=None, help="re-render bench/results/bench_onnx.json only")
    args = parser.parse_args()
    if args.from_json:  # re-render a previous run's numbers (no measuring), with that run's settings
        saved = json.loads(Path(args.from_json).read_text())
        for key in ("repeats", "latency_runs", "threads"):
            setattr(args, key, saved["run"][key])
        models = saved["models"]
        write_report([render_row(name, r) for name, r in models.items()], models, args, saved["run"]["stamp"])
        return
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    compile_kport()
    info = make_models(names)
    rows, raw = [], {}
    for name in names:
        print(f"converting {name} ...", flush=True)
        conv = convert_all(name, info[name]["h5"], args.repeats)
        result = {"weights_mb": info[name]["weights_mb"]}
        ready = {tool: c["path"] for tool, c in conv.items() if c["path"] is not None and c["error"] is None}
        lat1 = latencies_ms(ready, 1, args.latency_runs, args.threads)
        lat8 = latencies_ms(ready, 8, max(5, args.latency_runs // 3), args.threads)
        for tool, c in conv.items():
            entry = {"seconds": c["seconds"], "peak_mb": c["peak_mb"], "error": c["error"], "how": c.get("how")}
            if tool in ready:
                for batch, lat in ((1, lat1), (8, lat8)):
                    entry[f"lat{batch}_ms"], entry[f"lat{batch}_min_ms"] = lat[tool]["median"], lat[tool]["min"]
                    if "ratio_kport" in lat[tool]:  # median over rounds of kport's time / this tool's
                        entry[f"lat{batch}_kport_ratio"] = lat[tool]["ratio_kport"]
                    if tool == "kport":  # kport against a second session of the same file
                        entry[f"lat{batch}_noise_ratio"] = lat["kport_copy"]["ratio_kport"]
                entry["max_diff_vs_keras"], entry["rel_diff_vs_keras"] = diff_vs_keras(c["path"], info[name]["ref"])
                entry["nodes"], entry["transposes"] = node_count(c["path"])
            result[tool] = entry
        raw[name] = result
        rows.append(render_row(name, result))
        print(rows[-1], flush=True)
    write_report(rows, raw, args)


NOTES_HEADING = "## Notes (written by hand"


def raw_numbers(raw: dict) -> list[str]:
    """The lines of a report's folded raw-numbers block."""
    return ["<details><summary>raw numbers</summary>", "", "```json", json.dumps(raw, indent=1, default=str),
            "```", "</details>", ""]


def write_report_file(path: Path, text: str) -> None:
    """Writes a generated report, keeping the hand-written notes section of the previous one.

    The notes (a section headed NOTES_HEADING, up to the next line starting
    'Reproduce:') go back in just before that line of the new report.
    """
    if path.exists():
        old = path.read_text()
        start = old.find(NOTES_HEADING)
        end = old.find("\nReproduce:", start)
        if start >= 0 and end >= 0 and NOTES_HEADING not in text and "\nReproduce:" in text:
            at = text.index("\nReproduce:") + 1
            text = text[:at] + old[start:end + 1] + text[at:]
    path.write_text(text)


def render_row(name: str, r: dict) -> str:
    k, t, k3 = r["kport"], r["tf2onnx"], r["keras3"]

    def ratio(other):
        return f"{other['seconds'] / k['seconds']:.1f}x" if other["error"] is None and k["error"] is None else "—"

    def lat(entry):
        if entry["error"] is not None:
            return f"failed: {entry['error'][:60]}"
        return (f"{entry['lat1_ms']:.1f} ({entry['lat1_min_ms']:.1f}) / "
                f"{entry['lat8_ms']:.1f} ({entry['lat8_min_ms']:.1f}) ms, "
                f"{entry['nodes']} nodes ({entry['transposes']} Transpose), rel. diff {entry['rel_diff_vs_keras']:.1e}")

    def noise(entry):
        if entry["error"] is not None or "lat1_noise_ratio" not in entry:
            return "—"
        return f"{entry['lat1_noise_ratio']:.3f} / {entry['lat8_noise_ratio']:.3f}"

    def lat_ratio(entry):
        if entry["error"] is not None or "lat1_kport_ratio" not in entry:
            return "—"
        return f"{entry['lat1_kport_ratio']:.3f} / {entry['lat8_kport_ratio']:.3f}"

    conv_t = f"{t['seconds']:.1f} s" if t["error"] is None else f"failed after {t['seconds']:.0f} s"
    conv_k3 = f"{k3['seconds']:.1f} s" if k3["error"] is None else f"failed after {k3['seconds']:.0f} s"
    if k3["error"] is None and (k3.get("how") or "").startswith("rebuilt"):
        conv_k3 += " [rebuilt]"
    budget = 2 * r["weights_mb"] + 300
    return (f"| {name} | {r['weights_mb']:.0f} MB | {k['seconds']:.2f} s | {conv_t} ({ratio(t)}) | "
            f"{conv_k3} ({ratio(k3)}) | {k['peak_mb']} MB (budget {budget:.0f}) | {lat_ratio(t)} | {lat_ratio(k3)} | "
            f"{noise(k)} | "
            f"{lat(k)} | {lat(t)} | {lat(k3)} |")


def write_report(rows: list[str], raw: dict, args, stamp: str | None = None) -> None:
    header = ("| model | weights | kport convert | tf2onnx (kport speedup) | Keras 3 export (speedup) | "
              "kport peak RSS | ORT latency kport/tf2onnx b1 / b8 | kport/Keras 3 b1 / b8 | noise floor b1 / b8 | "
              "kport ORT b1 / b8 median (min) | tf2onnx ORT b1 / b8 | Keras 3 ORT b1 / b8 |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|")
    stamp = stamp or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([
        "# kport ONNX benchmark",
        "",
        "See also: [LSTM text model -> ONNX, kport vs tf2onnx](LSTM.md) (`bench_lstm.py`), "
        "[kport.keras training epoch time vs PyTorch, Keras 3, tf_keras](ENGINE.md) (`bench_engine.py`), "
        "[`kport inspect` start-up](INSPECT.md) (`bench_inspect.py`).",
        "",
        f"Run {stamp} on {machine()}; {versions()}.",
        "",
        "Conversion time is end to end in a fresh process (process start to file written): "
        f"`kport convert MODEL.h5 --to onnx --no-check` (median of {args.repeats}), tf2onnx "
        "(`tf_keras.models.load_model` + `tf2onnx.convert.from_keras`, opset 17, one run) and Keras 3 "
        "(`keras.models.load_model` + `model.export(format='onnx')`, one run). Latency is ONNX Runtime CPU "
        f"(all graph optimizations on, {args.threads or 'all'} intra-op thread(s)), median of {args.latency_runs} rounds at batch 1 and "
        f"{max(5, args.latency_runs // 3)} at batch 8, with the minimum in parentheses. Each round runs every tool's graph "
        "once, back to back (order alternating), so the load of this shared machine hits them alike; the latency ratio "
        "columns are the median over rounds of kport's time divided by the other tool's in the same round "
        "(below 1.000: kport's graph ran faster). The noise floor is the same ratio for kport's file against a "
        "second session of that same file, timed in the same rounds: ratios within that distance of 1.000 are "
        "equal. `rel. diff` is "
        "max |ONNX - Keras predict| / max |Keras predict| on a seeded batch of 2. "
        "[rebuilt]: Keras 3 could not load the tf_keras .h5 (see raw numbers), so the bench rebuilt the same "
        "application in Keras 3 and loaded the .h5 weights into it; that time includes the rebuild. "
        "Models are `tf_keras.applications` with random weights (weights=None, seed 0) and a logits head "
        "(classifier_activation=None, so the parity numbers are not flattened by a near-uniform softmax).",
        "",
        header,
        *rows,
        "",
        "Failures are the tools' own: in earlier runs of this bench on this 23 GB machine, tf2onnx and "
        "Keras 3 export were killed by the kernel's OOM killer on VGG16 at ~23 GB resident; the bench now "
        f"stops any exporter at {MEMORY_CAP_MB} MB so the shared machine survives. Keras 3 cannot load the "
        "tf_keras MobileNetV2 .h5 (`Unrecognized keyword arguments passed to DepthwiseConv2D: {'groups': 1}`).",
        "",
        "Reproduce: `.venv/bin/python bench/bench_onnx.py` (models are cached under bench/results/).",
        "",
        *raw_numbers(raw),
    ])
    write_report_file(Path(args.readme), text)
    WORK.mkdir(parents=True, exist_ok=True)
    run = {"stamp": stamp, "repeats": args.repeats, "latency_runs": args.latency_runs, "threads": args.threads}
    (WORK / "bench_onnx.json").write_text(json.dumps({"run": run, "models": raw}, indent=1, default=str))
    print("\n" + header + "\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
