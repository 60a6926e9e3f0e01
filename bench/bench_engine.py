"""Benchmark: training epoch time of kport.keras vs a hand-written PyTorch loop vs Keras 3 vs tf_keras.

Two models, MNIST-shaped data generated with a seeded numpy RNG (nothing downloaded):
  - mlp: 784-512-512-10, relu, Dropout(0.2) after each hidden layer, softmax, RMSprop(1e-3), batch 128;
  - cnn: 28x28x1 -> Conv2D(32,3,relu) -> MaxPool(2) -> Conv2D(64,3,relu) -> MaxPool(2) -> Flatten
         -> Dense(10, softmax), RMSprop(1e-3), batch 128.
Each framework runs in its own fresh subprocess: kport.keras (`model.fit`), a hand-written PyTorch
loop (same architecture, torch.optim.RMSprop, CrossEntropyLoss on logits, shuffled index batches),
Keras 3 with KERAS_BACKEND=tensorflow and =torch, and tf_keras. Each does one fit of 1 + --epochs
epochs (loss only, no metrics, verbose 0); the first epoch is a warm-up, and a callback (or the loop
itself) times each of the others. The table gives the median seconds per epoch and the ratio to
the hand-written loop; the result goes to bench/ENGINE.md.

Usage: .venv/bin/python bench/bench_engine.py [--epochs 3] [--threads 1] [--cnn-samples 10000]
       .venv/bin/python bench/bench_engine.py --profile mlp   # cProfile of kport.keras fit, top entries
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FRAMEWORKS = ["torch_loop", "torch_loop_ftz", "kport", "keras3_tf", "keras3_torch", "tf_keras"]
LABELS = {"torch_loop": "hand-written PyTorch loop", "torch_loop_ftz": "the same loop, denormals flushed",
          "kport": "kport.keras", "keras3_tf": "Keras 3 (TensorFlow)",
          "keras3_torch": "Keras 3 (torch)", "tf_keras": "tf_keras 2"}
BATCH = 128


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return x, y


def set_threads(fw: str, threads: int) -> None:
    if fw in ("torch_loop", "torch_loop_ftz", "kport", "keras3_torch"):
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    if fw in ("keras3_tf", "tf_keras"):
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def build_keras(K, model_name: str):
    """The model in a Keras API (`K` is kport.keras, keras or tf_keras)."""
    L = K.layers
    if model_name == "mlp":
        inp = K.Input(shape=(784,))
        h = L.Dense(512, activation="relu")(inp)
        h = L.Dropout(0.2)(h)
        h = L.Dense(512, activation="relu")(h)
        h = L.Dropout(0.2)(h)
        out = L.Dense(10, activation="softmax")(h)
    else:
        inp = K.Input(shape=(28, 28, 1))
        h = L.Conv2D(32, 3, activation="relu")(inp)
        h = L.MaxPooling2D(2)(h)
        h = L.Conv2D(64, 3, activation="relu")(h)
        h = L.MaxPooling2D(2)(h)
        h = L.Flatten()(h)
        out = L.Dense(10, activation="softmax")(h)
    return K.Model(inp, out)


def run_keras(fw: str, model_name: str, x, y, epochs: int) -> list[float]:
    if fw == "kport":
        import kport.keras as K
    elif fw == "tf_keras":
        import tf_keras as K
    else:
        import keras as K
    K.utils.set_random_seed(0)
    model = build_keras(K, model_name)
    opt = K.optimizers.RMSprop(learning_rate=1e-3)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt)
    times, starts = [], {}

    class EpochTimer(K.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            starts[epoch] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - starts[epoch])

    model.fit(x, y, batch_size=BATCH, epochs=1 + epochs, verbose=0, shuffle=True, callbacks=[EpochTimer()])
    return times[1:]


def run_torch_loop(model_name: str, x, y, epochs: int) -> list[float]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    if model_name == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 512), nn.ReLU(),
                              nn.Dropout(0.2), nn.Linear(512, 10))
        xt = torch.from_numpy(x)
    else:
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 5 * 5, 10))
        xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW, converted once
    yt = torch.from_numpy(y).long()
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    times = []
    for _ in range(1 + epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(xt))
        total = torch.zeros(())
        for i in range(0, len(xt), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        float(total)  # the epoch's mean loss, as fit reports it
        times.append(time.perf_counter() - t0)
    return times[1:]


def worker(fw: str, model_name: str, n: int, epochs: int, threads: int) -> None:
    set_threads(fw, threads)
    x, y = make_data(n)
    if model_name == "mlp":
        x = x.reshape(n, 784)
    if fw == "torch_loop_ftz":
        # float32 denormals are slow on CPUs; TF's kernels and kport.keras's updates flush them, plain torch does not
        import torch

        torch.set_flush_denormal(True)
    loop = fw in ("torch_loop", "torch_loop_ftz")
    times = run_torch_loop(model_name, x, y, epochs) if loop else run_keras(fw, model_name, x, y, epochs)
    extra = {}
    if fw == "keras3_tf":
        extra["note"] = "jit_compile='auto' (Keras 3 default)"
    print("RESULT " + json.dumps({"times": times, **extra}), flush=True)


def run_worker(fw: str, model_name: str, n: int, epochs: int, threads: int) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    if fw.startswith("keras3_"):
        env["KERAS_BACKEND"] = "tensorflow" if fw == "keras3_tf" else "torch"
    cmd = [sys.executable, __file__, "--worker", fw, "--model", model_name, "--n", str(n),
           "--epochs", str(epochs), "--threads", str(threads)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            data = json.loads(line[7:])
            data.update(median=statistics.median(data["times"]), wall=wall, error=None)
            return data
    tail = [ln for ln in proc.stderr.splitlines() if ln.strip()][-3:]
    return {"error": " | ".join(tail)[-300:] or f"exit status {proc.returncode}", "wall": wall}


def profile(model_name: str, n: int, threads: int) -> None:
    """cProfile of one kport.keras epoch (after a warm-up epoch); prints the top cumulative entries."""
    import cProfile
    import pstats

    import kport.keras as K

    set_threads("kport", threads)
    x, y = make_data(n)
    if model_name == "mlp":
        x = x.reshape(n, 784)
    K.utils.set_random_seed(0)
    model = build_keras(K, model_name)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=K.optimizers.RMSprop(learning_rate=1e-3))
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    prof = cProfile.Profile()
    prof.enable()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the warm-up epoch")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch / TF intra-op threads, same for all (1: on a shared 2-core machine, 2 threads "
                             "collapse whenever another process takes a core)")
    parser.add_argument("--mlp-samples", type=int, default=60000)
    parser.add_argument("--cnn-samples", type=int, default=10000)
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--out", default=str(HERE / "ENGINE.md"))
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--profile", default=None, help="mlp or cnn: cProfile a kport.keras epoch")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.model, args.n, args.epochs, args.threads)
        return
    if args.profile:
        profile(args.profile, args.mlp_samples if args.profile == "mlp" else args.cnn_samples, args.threads)
        return
    frameworks = [f for f in args.frameworks.split(",") if f]
    raw = {}
    for model_name in [m for m in args.models.split(",") if m]:
        n = args.mlp_samples if model_name == "mlp" else args.cnn_samples
        raw[model_name] = {"samples": n}
        for fw in frameworks:
            print(f"{model_name}: {fw} ...", flush=True)
            raw[model_name][fw] = r = run_worker(fw, model_name, n, args.epochs, args.threads)
            print("   ", {k: v for k, v in r.items() if k != "times"} | {"times": r.get("times")}, flush=True)
    write(raw, frameworks, args)


def write(raw: dict, frameworks: list[str], args) -> None:
    sys.path.insert(0, str(HERE))
    from bench_onnx import machine, raw_numbers, write_report_file
    from importlib.metadata import version

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    vers = ", ".join(f"{p} {version(p)}" for p in ("kport", "torch", "tensorflow-cpu", "keras", "tf_keras", "numpy"))
    models = list(raw)
    header = ("| framework | " + " | ".join(f"{m} ({raw[m]['samples']} samples) s/epoch median (min) | {m} vs loop"
                                           for m in models) + " |\n|---|" + "---|---|" * len(models))
    rows = []
    for fw in frameworks:
        cells = []
        for m in models:
            r, base = raw[m].get(fw, {}), raw[m].get("torch_loop", {})
            if not r or r.get("error"):
                cells += [f"failed: {(r or {}).get('error', 'not run')[:80]}", "—"]
                continue
            ratio = f"{r['median'] / base['median']:.2f}x" if base and not base.get("error") else "—"
            cells += [f"{r['median']:.2f} ({min(r['times']):.2f})", ratio]
        rows.append(f"| {LABELS[fw]} | " + " | ".join(cells) + " |")
    text = "\n".join([
        "# kport.keras training benchmark (epoch time)",
        "",
        f"Run {stamp} on {machine()}; {vers}.",
        "",
        f"Data: generated MNIST-shaped float32 images and integer labels (seeded numpy; nothing downloaded). "
        f"MLP 784-512-512-10 (relu, Dropout 0.2, softmax) on {raw.get('mlp', {}).get('samples', '—')} samples; "
        f"CNN 28x28x1 -> Conv2D(32,3) -> MaxPool -> Conv2D(64,3) -> MaxPool -> Flatten -> Dense(10) on "
        f"{raw.get('cnn', {}).get('samples', '—')} samples (fewer than MNIST's 60 000 to fit the time box). "
        f"RMSprop(1e-3), batch {BATCH}, sparse categorical cross-entropy, no metrics, shuffled. "
        f"Each framework runs in its own process: one `fit` of 1 + {args.epochs} epochs, the first a warm-up; "
        f"median (min) of the {args.epochs} timed epochs. Threads: torch.set_num_threads({args.threads}) for "
        f"kport.keras, the hand-written loop and Keras 3 (torch); TF intra-op {args.threads} for Keras 3 (TF) "
        "and tf_keras; inter-op 1 everywhere. The hand-written loop is nn.Sequential + torch.optim.RMSprop "
        "(alpha 0.9, eps 1e-7) + CrossEntropyLoss on logits, indexing a shuffled permutation (no DataLoader), NCHW; "
        "its second row is the same loop with torch.set_flush_denormal(True) (RMSprop accumulators of units that "
        "stop receiving gradients decay into float32 denormals, which are slow on CPUs; TensorFlow's kernels and "
        "kport.keras's optimizer updates flush them). "
        "Keras 3 (TensorFlow) uses its default jit_compile='auto'. Target: kport.keras <= 1.1x the loop. "
        "The machine is shared (2 cores), so single runs are noisy.",
        "",
        header,
        *rows,
        "",
        "Reproduce: `.venv/bin/python bench/bench_engine.py`; profile: `.venv/bin/python bench/bench_engine.py --profile mlp`.",
        "",
        *raw_numbers(raw),
    ])
    write_report_file(Path(args.out), text)
    print("\n" + header + "\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
