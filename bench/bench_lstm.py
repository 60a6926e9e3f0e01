"""Benchmark: an IMDB-style LSTM text model, .h5 -> ONNX with kport vs tf2onnx.

One run does everything on this machine:
  1. builds Embedding(20000, 128) -> LSTM(128) -> Dense(1, sigmoid) with tf_keras (random weights,
     seeded; nothing is downloaded), once with sequence length 200 and once with a variable
     length (None), saves each as .h5 with seeded token ids and Keras's predictions;
  2. times end-to-end conversion in fresh processes: `kport convert --to onnx --no-check`
     (median of --repeats) and tf2onnx (`tf_keras` load + `from_keras`, opset 17, one run);
  3. measures ONNX Runtime latency (batch 1 and 32, median and minimum, runs interleaved across
     the two graphs), lists each graph's op types and checks both against Keras predict;
  4. writes a markdown table to bench/LSTM.md (bench_onnx.py rewrites bench/README.md whole,
     so README.md only links here).

Usage: .venv/bin/python bench/bench_lstm.py [--repeats 3] [--latency-runs 30] [--threads 1]
"""
from __future__ import annotations

import argparse
import collections
import datetime
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_onnx import (KPORT, PY, last_error, machine, raw_numbers, run_timed, versions,  # noqa: E402
                        write_report_file)

WORK = HERE / "results"
VOCAB, EMBED, UNITS = 20000, 128, 128
VARIANTS = {"lstm_len200": 200, "lstm_varlen": None}
REF_LEN = 200  # token length used for the parity check and latency of the variable-length model

_MAKE = """
import sys, numpy as np, tf_keras
path, ref, seqlen = sys.argv[1], sys.argv[2], sys.argv[3]
seqlen = None if seqlen == "None" else int(seqlen)
tf_keras.utils.set_random_seed(0)
inp = tf_keras.Input(shape=(seqlen,), dtype="int32", name="tokens")
emb = tf_keras.layers.Embedding(%d, %d)
h = tf_keras.layers.LSTM(%d)(emb(inp))
dense = tf_keras.layers.Dense(1, activation="sigmoid")
out = dense(h)
model = tf_keras.Model(inp, out)
# Keras's default init (embeddings U(-0.05, 0.05)) leaves the LSTM nearly idle and every output ~0.5;
# wider embeddings and output weights exercise the gates so the parity check means something
rng = np.random.default_rng(1)
emb.set_weights([rng.uniform(-1, 1, emb.get_weights()[0].shape).astype("float32")])
dense.set_weights([w * 8 for w in dense.get_weights()])
model.save(path)
x = np.random.default_rng(0).integers(1, %d, size=(8, %d)).astype("int32")
np.savez(ref, x=x, y=model.predict(x, verbose=0))
""" % (VOCAB, EMBED, UNITS, VOCAB, REF_LEN)

_TF2ONNX = """
import sys
import tf_keras, tensorflow as tf, tf2onnx
src, dst = sys.argv[1:3]
model = tf_keras.models.load_model(src, compile=False)
spec = [tf.TensorSpec((None, *model.inputs[0].shape[1:]), model.inputs[0].dtype,
                      name=model.inputs[0].name.split(":")[0])]
tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=dst)
"""


def make(name: str, seqlen) -> tuple[Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    h5, ref = WORK / f"{name}.h5", WORK / f"{name}.ref.npz"
    if not h5.exists() or not ref.exists():
        print(f"building {name} with tf_keras ...", flush=True)
        _, rc, _, err = run_timed([PY, "-c", _MAKE, str(h5), str(ref), str(seqlen)])
        if rc != 0:
            raise SystemExit(f"could not build {name}: {err[-2000:]}")
    return h5, ref


def convert(name: str, h5: Path, repeats: int) -> dict:
    out = {}
    path = WORK / f"{name}.kport.onnx"
    runs = [run_timed([KPORT, "convert", str(h5), "--to", "onnx", "--no-check", "-o", str(path)])
            for _ in range(repeats)]
    bad = [r for r in runs if r[1] != 0]
    out["kport"] = {"seconds": statistics.median(r[0] for r in runs), "all_seconds": [r[0] for r in runs],
                    "peak_mb": max(r[2] for r in runs), "path": path if not bad and path.exists() else None,
                    "error": last_error(bad[0][3], bad[0][1]) if bad else None}
    path = WORK / f"{name}.tf2onnx.onnx"
    if path.exists():
        path.unlink()
    seconds, rc, peak, err = run_timed([PY, "-c", _TF2ONNX, str(h5), str(path)])
    Path(f"{path}.log").write_text(err)
    ok = rc == 0 and path.exists()
    out["tf2onnx"] = {"seconds": seconds, "peak_mb": peak, "path": path if ok else None,
                      "error": None if ok else last_error(err, rc)}
    return out


def _session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _feed(sess, x: np.ndarray) -> dict:
    inp = sess.get_inputs()[0]
    dtype = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}[inp.type]
    return {inp.name: x.astype(dtype)}


def latencies_ms(paths: dict[str, Path], batch: int, runs: int, threads: int) -> dict[str, tuple]:
    """(median, min) ONNX Runtime latency per graph; runs interleaved so machine load hits both alike."""
    x = np.random.default_rng(1).integers(1, VOCAB, size=(batch, REF_LEN))
    sessions = {tool: _session(p, threads) for tool, p in paths.items()}
    feeds = {tool: _feed(s, x) for tool, s in sessions.items()}
    for tool, s in sessions.items():
        for _ in range(3):
            s.run(None, feeds[tool])
    times = {tool: [] for tool in paths}
    for _ in range(runs):
        for tool, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds[tool])
            times[tool].append((time.perf_counter() - t0) * 1000)
    return {tool: (statistics.median(t), min(t)) for tool, t in times.items()}


def graph_info(path: Path, ref: Path) -> dict:
    import onnx

    model = onnx.load(str(path))
    ops = collections.Counter(n.op_type for n in model.graph.node)
    # ops inside Loop/Scan bodies (tf2onnx may lower an LSTM to a loop)
    sub = collections.Counter()
    for n in model.graph.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                sub.update(m.op_type for m in a.g.node)
    data = np.load(ref)
    sess = _session(path, 1)
    (y,) = sess.run(None, _feed(sess, data["x"]))
    diff = float(np.abs(y.reshape(data["y"].shape) - data["y"]).max())
    spread = float(np.ptp(data["y"]))
    inp = sess.get_inputs()[0]
    return {"nodes": len(model.graph.node), "ops": dict(sorted(ops.items())), "subgraph_ops": dict(sorted(sub.items())),
            "input": f"{inp.name} {inp.type} {inp.shape}", "max_diff_vs_keras": diff,
            "keras_output_range": [float(data["y"].min()), float(data["y"].max())], "spread": spread}


def ops_text(info: dict) -> str:
    text = ", ".join(f"{op}" + (f"×{n}" if n > 1 else "") for op, n in info["ops"].items())
    if info["subgraph_ops"]:
        text += f" (loop body: {len(info['subgraph_ops'])} op types)"
    return text


def _range(raw: dict) -> str:
    parts = []
    for name, r in raw.items():
        rng = r["kport"].get("keras_output_range") or r["tf2onnx"].get("keras_output_range")
        if rng:
            parts.append(f"{name} {rng[0]:.3f}..{rng[1]:.3f}")
    return ", ".join(parts)


def render(name: str, seqlen, r: dict) -> str:
    k, t = r["kport"], r["tf2onnx"]

    def lat(e, b):
        return f"{e[f'lat{b}_ms']:.2f} ({e[f'lat{b}_min_ms']:.2f})" if e.get(f"lat{b}_ms") is not None else "—"

    def ratio(b):
        if k.get(f"lat{b}_ms") is None or t.get(f"lat{b}_ms") is None:
            return "—"
        return f"{k[f'lat{b}_ms'] / t[f'lat{b}_ms']:.2f}"

    conv_t = f"{t['seconds']:.1f} s" if t["error"] is None else f"failed ({t['error'][:80]})"
    speedup = f"{t['seconds'] / k['seconds']:.1f}x" if t["error"] is None and k["error"] is None else "—"
    return (f"| {name} (len {seqlen or 'None'}) | {k['seconds']:.2f} s | {conv_t} ({speedup}) | "
            f"{lat(k, 1)} | {lat(t, 1)} | {ratio(1)} | {lat(k, 32)} | {lat(t, 32)} | {ratio(32)} | "
            f"{k.get('max_diff_vs_keras', float('nan')):.1e} / {t.get('max_diff_vs_keras', float('nan')):.1e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads")
    parser.add_argument("--out", default=str(HERE / "LSTM.md"))
    args = parser.parse_args()
    raw, rows = {}, []
    for name, seqlen in VARIANTS.items():
        h5, ref = make(name, seqlen)
        print(f"converting {name} ...", flush=True)
        conv = convert(name, h5, args.repeats)
        ready = {tool: c["path"] for tool, c in conv.items() if c["path"] is not None}
        lat1 = latencies_ms(ready, 1, args.latency_runs, args.threads)
        lat32 = latencies_ms(ready, 32, max(5, args.latency_runs // 2), args.threads)
        result = {}
        for tool, c in conv.items():
            entry = {key: v for key, v in c.items() if key != "path"}
            if tool in ready:
                entry["lat1_ms"], entry["lat1_min_ms"] = lat1[tool]
                entry["lat32_ms"], entry["lat32_min_ms"] = lat32[tool]
                entry.update(graph_info(c["path"], ref))
            result[tool] = entry
        raw[name] = result
        rows.append(render(name, seqlen, result))
        print(rows[-1], flush=True)
    write(rows, raw, args)


def write(rows: list[str], raw: dict, args) -> None:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = ("| model | kport convert | tf2onnx convert (kport speedup) | kport ORT b1 ms median (min) | "
              "tf2onnx ORT b1 | b1 ratio kport/tf2onnx | kport ORT b32 | tf2onnx ORT b32 | b32 ratio | "
              "max abs diff vs Keras kport / tf2onnx |\n|---|---|---|---|---|---|---|---|---|---|")
    op_lines = []
    for name, r in raw.items():
        for tool in ("kport", "tf2onnx"):
            e = r[tool]
            if "ops" in e:
                op_lines.append(f"- {name}, {tool}: {e['nodes']} nodes: {ops_text(e)}; input `{e['input']}`")
            else:
                op_lines.append(f"- {name}, {tool}: failed: {e['error']}")
    text = "\n".join([
        "# kport LSTM benchmark (IMDB-style text model -> ONNX)",
        "",
        f"Run {stamp} on {machine()}; {versions()}.",
        "",
        f"Model: tf_keras `Input(int32) -> Embedding({VOCAB}, {EMBED}) -> LSTM({UNITS}) -> Dense(1, sigmoid)`, "
        "random weights (seed 0), saved as .h5; one with sequence length 200, one with a variable length (None). "
        f"Conversion is end to end in a fresh process: `kport convert --to onnx --no-check` (median of {args.repeats}) "
        "and tf2onnx (`tf_keras.models.load_model` + `tf2onnx.convert.from_keras`, opset 17, one run). "
        f"Latency: ONNX Runtime CPU, all graph optimizations, {args.threads} intra-op thread(s), {REF_LEN} tokens, "
        f"median of {args.latency_runs} runs at batch 1 and {max(5, args.latency_runs // 2)} at batch 32 (minimum in "
        "parentheses), runs interleaved between the two graphs on a shared machine. Ratio < 1: kport's graph is faster "
        "(target: <= 1.0). Diff: max |ONNX - Keras predict| on 8 seeded sequences of 200 tokens (sigmoid outputs; "
        "embeddings drawn from U(-1, 1) and the Dense kernel scaled by 8 so the outputs spread, range "
        f"{_range(raw)}).",
        "",
        header,
        *rows,
        "",
        "ONNX op types:",
        "",
        *op_lines,
        "",
        "Reproduce: `.venv/bin/python bench/bench_lstm.py` (models cached under bench/results/).",
        "",
        *raw_numbers(raw),
    ])
    write_report_file(Path(args.out), text)
    print("\n" + header + "\n" + "\n".join(rows) + "\n" + "\n".join(op_lines))


if __name__ == "__main__":
    main()
