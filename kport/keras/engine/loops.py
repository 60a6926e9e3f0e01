"""The fit / evaluate / predict loops over arrays, generators and `Sequence`s, with callbacks."""
from __future__ import annotations

from typing import Any

import numpy as np

from kport.keras import callbacks as callbacks_mod
from kport.keras.engine import data as data_mod


def _take(arrays: list, index) -> list:
    return [a[index] for a in arrays]


def _split_validation(xs, ys, sws, split: float):
    n = len(xs[0])
    at = int(n * (1.0 - split))  # Keras keeps the last samples for validation, before any shuffle
    if at == 0 or at == n:
        raise ValueError(f"validation_split={split} leaves no samples for training or for validation ({n} samples)")
    head = [a[:at] for a in xs], [a[:at] for a in ys], [a[:at] for a in sws]
    tail = [a[at:] for a in xs], [a[at:] for a in ys], [a[at:] for a in sws]
    return head, tail


def _batches_from(model, data: Any, steps: int | None, with_targets: bool = True):
    """Yields prepared (xs, ys, sws) batches from a generator or a Sequence."""
    if data_mod.is_sequence(data):
        count = len(data) if steps is None else min(steps, len(data))
        for i in range(count):
            yield _prepare_item(model, data[i], with_targets)
        return
    if steps is None:
        raise ValueError("steps_per_epoch (or steps) is required when the data is a Python generator")
    for _ in range(steps):
        yield _prepare_item(model, next(data), with_targets)


def _prepare_item(model, item, with_targets: bool):
    x, y, sw = data_mod.split_tuple(item)
    return model._prepare(x, y if with_targets else None, sw)


def fit(model, x, y, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
        validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
        steps_per_epoch=None, validation_steps=None, validation_freq=1, **kwargs):
    # worker/queue settings of Keras's threaded generator feeding change nothing here
    unknown = set(kwargs) - {"max_queue_size", "workers", "use_multiprocessing"}
    if unknown:
        raise TypeError(f"fit() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    model._require_compiled()
    generator = data_mod.is_generator(x)
    batch_size = batch_size or 32
    if generator:
        steps = steps_per_epoch if steps_per_epoch is not None else (len(x) if data_mod.is_sequence(x) else None)
        train = None
        samples = None
    else:
        xs, ys, sws = model._prepare(x, y, sample_weight, class_weight)
        if validation_split and validation_data is None:
            (xs, ys, sws), validation_data = _split_validation(xs, ys, sws, validation_split)
        train = (xs, ys, sws)
        samples = len(xs[0])
        steps = data_mod.batch_count(samples, batch_size)
    val = _validation_source(model, validation_data)
    history = callbacks_mod.History()
    cbs = callbacks_mod.CallbackList(callbacks_mod.default_callbacks(callbacks, history, verbose))
    model._build_metrics()
    metric_names = list(model.metrics_names)
    cbs.set_model(model)
    cbs.set_params({"batch_size": batch_size, "epochs": epochs, "steps": steps, "samples": samples,
                    "verbose": verbose, "do_validation": val is not None,
                    "metrics": metric_names + [f"val_{n}" for n in metric_names] if val is not None else metric_names})
    model.stop_training = False
    model.history = history
    batch_logs = cbs.wants_batch_logs()
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        cbs.on_epoch_begin(epoch)
        if train is not None:
            batches = ((_take(train[0], i), _take(train[1], i), _take(train[2], i))
                       for i in data_mod.array_batches(samples, batch_size, shuffle))
        else:
            batches = _batches_from(model, x, steps)
        for step, (bx, by, bsw) in enumerate(batches):
            cbs.on_batch_begin(step, {"batch": step, "size": len(bx[0])})
            model._train_step(model._to_torch(bx), model._to_torch(by), model._to_torch(bsw))
            logs = {"batch": step, "size": len(bx[0]), **(model._logs() if batch_logs else {})}
            cbs.on_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = model._logs()
        if val is not None and (epoch + 1) % validation_freq == 0:
            # tf.keras draws validation batches in a shuffled order too (the same numpy RNG stream)
            val_logs = _evaluate_source(model, val, batch_size, validation_steps, shuffle)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, epoch_logs)
        if train is None and data_mod.is_sequence(x) and hasattr(x, "on_epoch_end"):
            x.on_epoch_end()
        if model.stop_training:
            break
    cbs.on_train_end()
    return history


def _validation_source(model, validation_data):
    if validation_data is None:
        return None
    if data_mod.is_generator(validation_data):
        return ("generator", validation_data)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        vx, vy = validation_data[0], validation_data[1]
        vsw = validation_data[2] if len(validation_data) == 3 else None
        vsw = vsw if vsw is not None and len(data_mod.as_list(vsw)) else None
    else:
        raise ValueError("validation_data must be (x, y) or (x, y, sample_weight)")
    return ("arrays", model._prepare(vx, vy, vsw))


def _evaluate_source(model, source, batch_size: int, steps: int | None, shuffle: bool | str = False
                     ) -> dict[str, float]:
    model.reset_metrics()
    kind, value = source
    if kind == "arrays":
        xs, ys, sws = value
        for idx in data_mod.array_batches(len(xs[0]), batch_size, shuffle):
            model._test_step(model._to_torch(_take(xs, idx)), model._to_torch(_take(ys, idx)),
                             model._to_torch(_take(sws, idx)))
    else:
        if steps is None and data_mod.is_sequence(value):
            steps = len(value)
        for bx, by, bsw in _batches_from(model, value, steps):
            model._test_step(model._to_torch(bx), model._to_torch(by), model._to_torch(bsw))
    logs = model._logs()
    model.reset_metrics()
    return logs


def evaluate(model, x, y, batch_size=None, verbose=1, sample_weight=None, steps=None, callbacks=None,
             return_dict=False):
    model._require_compiled()
    batch_size = batch_size or 32
    if data_mod.is_generator(x):
        source = ("generator", x)
    else:
        source = ("arrays", model._prepare(x, y, sample_weight))
    model._build_metrics()
    logs = _evaluate_source(model, source, batch_size, steps)
    if verbose:
        n = len(source[1][0][0]) if source[0] == "arrays" else (steps or 0)
        print(f"{n}/{n} [==============================] - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose=0, steps=None):
    batch_size = batch_size or 32
    if data_mod.is_generator(x):
        if steps is None and data_mod.is_sequence(x):
            steps = len(x)
        parts = [model._predict_arrays(bx) for bx, _, _ in _batches_from(model, x, steps, with_targets=False)]
    else:
        xs, _, _ = model._prepare(x)
        parts = [model._predict_arrays(_take(xs, idx)) for idx in data_mod.array_batches(len(xs[0]), batch_size,
                                                                                          False)]
    if not parts:
        raise ValueError("predict got no samples")
    if isinstance(parts[0], list):
        return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]
    return np.concatenate(parts)
