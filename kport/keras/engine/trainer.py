"""compile / fit / evaluate / predict: the training half of `Model` (a mixin).

Each step computes the outputs with the layers' generated torch modules, the
compiled losses (tf.keras reductions) plus the layers' regularization losses,
autograd gradients, and one Keras-formula optimizer update
(`kport.keras.optimizers`). Metrics stream over batches, weighted by batch size.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from kport.keras import losses as losses_mod
from kport.keras import metrics as metrics_mod
from kport.keras import optimizers as optimizers_mod
from kport.keras.engine import data as data_mod


class Trainer:
    """compile and the training/evaluation/prediction entry points of a Model."""

    optimizer = None
    loss = None
    _metric_specs: tuple = (None, None)
    _loss_weights_arg = None

    # ---- compile ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, sample_weight_mode=None,
                weighted_metrics=None, target_tensors=None, run_eagerly=None, **kwargs):
        """Sets the optimizer, the loss per output, and the metrics to report."""
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = loss
        self._loss_weights_arg = loss_weights
        self._metric_specs = (metrics, weighted_metrics)
        self._metric_entries = []
        self._loss_fns = None
        self.compiled = True
        self.stop_training = False
        for fn in (loss.values() if isinstance(loss, dict) else data_mod.as_list(loss)):
            if fn is not None:
                losses_mod.get(fn)  # unknown names fail at compile, as in Keras
        if self._is_graph_network:
            self._resolve_losses()

    def _resolve_losses(self) -> None:
        """Per-output loss functions and weights (a subclassed model knows its outputs after a first call)."""
        names = self._output_names
        self._loss_fns = [losses_mod.get(fn) if fn is not None else None
                          for fn in _per_output(self.loss, names, "loss")]
        spec = self._loss_weights_arg
        weights = _per_output(spec, names, "loss_weights") if spec is not None else [1.0] * len(names)
        self._loss_weights = [1.0 if w is None else float(w) for w in weights]

    def _build_metrics(self) -> None:
        """Resolves metric names once the output shapes are known."""
        if self._metric_entries:
            return
        if self._loss_fns is None:
            self._resolve_losses()
        names = self._output_names
        many = len(names) > 1
        shapes = [t.shape for t in self.outputs] if self._is_graph_network else [()]
        entries = [("loss", None, metrics_mod.Mean("loss"), "loss")]
        if many:
            entries += [(f"{n}_loss", i, metrics_mod.Mean(f"{n}_loss"), "output_loss") for i, n in enumerate(names)]
        metrics, weighted = self._metric_specs
        for specs, is_weighted in ((metrics, False), (weighted, True)):
            per_output = _metrics_per_output(specs, names)
            for i, out_specs in enumerate(per_output):
                for spec in out_specs:
                    label, metric = metrics_mod.resolve(spec, self._loss_fns[i], shapes[i])
                    name = f"{names[i]}_{label}" if many else label
                    if is_weighted and name in [e[0] for e in entries]:  # tf.keras: prefix only on a clash
                        name = f"{names[i]}_weighted_{label}" if many else f"weighted_{label}"
                    entries.append((name, i, metric, "weighted" if is_weighted else "metric"))
        self._metric_entries = entries

    @property
    def metrics_names(self) -> list[str]:
        self._build_metrics()
        return [name for name, *_ in self._metric_entries]

    def reset_metrics(self) -> None:
        for _, _, metric, _ in self._metric_entries:
            metric.reset_states()

    def _require_compiled(self) -> None:
        if self.optimizer is None:
            raise RuntimeError("You must compile your model before training/testing. Use `model.compile(optimizer, "
                               "loss)`.")

    # ---- one batch ---------------------------------------------------------------------------
    def _to_torch(self, arrays: list[np.ndarray]) -> list:
        from kport.keras import backend as K
        from kport.keras.engine import devices

        device = devices.of(self)
        return [K.as_tensor(np.asarray(a)).to(device, non_blocking=True) for a in arrays]

    def _losses_for(self, outs: list, ys: list, sws: list) -> tuple[Any, list]:
        if self._loss_fns is None:
            self._resolve_losses()
        total = 0.0
        per_output = []
        for i, (fn, out, y) in enumerate(zip(self._loss_fns, outs, ys)):
            if fn is None:
                per_output.append(None)
                continue
            y = _match_rank(y, out)
            sw = sws[i] if sws else None
            if isinstance(fn, losses_mod.Loss):
                value = fn(y, out, sw)
            else:
                value = losses_mod.reduce_losses(fn(y, out), sw)
            per_output.append(value)
            total = total + self._loss_weights[i] * value
        return total, per_output

    def _update_metrics(self, total, per_output: list, outs: list, ys: list, sws: list, batch: int) -> None:
        import torch

        with torch.no_grad():
            for _, index, metric, kind in self._metric_entries:
                if kind == "loss":  # tf.keras averages batch losses weighted by the batch size
                    metric.update_state(total.detach(), batch)
                elif kind == "output_loss":
                    metric.update_state(per_output[index].detach(), batch)
                else:
                    sw = sws[index] if (kind == "weighted" and sws) else None
                    metric.update_state(_match_rank(ys[index], outs[index]), outs[index].detach(), sw)

    def _logs(self) -> dict[str, float]:
        return {name: float(metric.result()) for name, _, metric, _ in self._metric_entries}

    def _train_step(self, xs: list, ys: list, sws: list) -> None:
        import torch

        outs = self._forward(xs, training=True)
        total, per_output = self._losses_for(outs, ys, sws)
        extra = self.losses
        if extra:
            total = total + sum(extra)
        if not torch.is_tensor(total):  # loss=None, no added losses
            total = torch.tensor(float(total), device=xs[0].device)
        self._clear_call_losses()
        params = self.torch_parameters()
        if params and total.requires_grad:
            grads = torch.autograd.grad(total, params, allow_unused=True)
            self.optimizer.apply_gradients(params, list(grads))
        self._build_metrics()
        self._update_metrics(total, per_output, outs, ys, sws, len(xs[0]))

    def _test_step(self, xs: list, ys: list, sws: list) -> None:
        import torch

        with torch.no_grad():
            outs = self._forward(xs, training=False)
            total, per_output = self._losses_for(outs, ys, sws)
            extra = [x for x in self.losses if x is not None]
            self._clear_call_losses()
            if extra:
                total = total + sum(extra)
            total = total if torch.is_tensor(total) else torch.tensor(float(total), device=xs[0].device)
            self._build_metrics()
            self._update_metrics(total, per_output, outs, ys, sws, len(xs[0]))

    def _prepare(self, x, y=None, sample_weight=None, class_weight=None) -> tuple[list, list, list]:
        if not self._is_graph_network:
            self._ensure_built([np.asarray(a) for a in data_mod.as_list(x)] if not isinstance(x, dict) else [])
        if not self._is_graph_network and getattr(self, "_n_outputs", None) is None:
            self._predict_arrays([_floatx(np.asarray(a)[:1]) for a in data_mod.as_list(x)])  # learn the outputs
        if self._is_graph_network:
            xs = data_mod.standardize(x, self._input_names, "input")
        else:
            xs = [np.asarray(a) for a in data_mod.as_list(x)]
        ys = data_mod.standardize(y, self._output_names, "target") if y is not None else []
        sws = data_mod.standardize(sample_weight, self._output_names, "sample_weight") \
            if sample_weight is not None else []
        if class_weight:
            per_output = class_weight if all(k in self._output_names for k in class_weight) \
                else {self._output_names[0]: class_weight}
            sws = sws or [np.ones(len(xs[0]), np.float32) for _ in ys]
            for i, name in enumerate(self._output_names):
                if name in per_output:
                    sws[i] = sws[i] * data_mod.class_weights_for(ys[i], per_output[name])
        return [_floatx(a) for a in xs], ys, sws

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True):
        """One gradient step; returns the loss, or [loss, metrics...] when metrics were compiled."""
        self._require_compiled()
        xs, ys, sws = self._prepare(x, y, sample_weight, class_weight)
        if reset_metrics:
            self.reset_metrics()
        self._train_step(self._to_torch(xs), self._to_torch(ys), self._to_torch(sws))
        return self._result_list()

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True):
        """The loss (and metrics) on one batch, without updating the weights."""
        self._require_compiled()
        xs, ys, sws = self._prepare(x, y, sample_weight)
        if reset_metrics:
            self.reset_metrics()
        self._test_step(self._to_torch(xs), self._to_torch(ys), self._to_torch(sws))
        return self._result_list()

    def predict_on_batch(self, x):
        """The outputs for one batch, as numpy."""
        xs, _, _ = self._prepare(x)
        return self._predict_arrays(xs)

    def _result_list(self):
        values = list(self._logs().values())
        return values[0] if len(values) == 1 else values

    def _predict_arrays(self, xs: list[np.ndarray]):
        import torch

        with torch.no_grad():
            outs = self._forward(self._to_torch(xs), training=False)
        self._clear_call_losses()
        arrays = [o.detach().cpu().numpy() for o in outs]
        return arrays[0] if len(arrays) == 1 else arrays

    # ---- loops ------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_freq=1, nb_epoch=None, **kwargs):
        """Trains for `epochs`; returns the History (its `.history` dict holds the per-epoch logs)."""
        from kport.keras.engine import loops

        return loops.fit(self, x, y, batch_size=batch_size, epochs=nb_epoch or epochs, verbose=verbose,
                         callbacks=callbacks, validation_split=validation_split, validation_data=validation_data,
                         shuffle=shuffle, class_weight=class_weight, sample_weight=sample_weight,
                         initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                         validation_steps=validation_steps, validation_freq=validation_freq, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None, callbacks=None,
                 return_dict=False, **kwargs):
        """The loss (and metrics) over the data, batch by batch."""
        from kport.keras.engine import loops

        return loops.evaluate(self, x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                              steps=steps, callbacks=callbacks, return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, **kwargs):
        """The outputs for every sample, as numpy (a list for several outputs)."""
        from kport.keras.engine import loops

        return loops.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps)

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, class_weight=None, initial_epoch=0, **kwargs):
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        class_weight=class_weight, initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, verbose=0, **kwargs):
        return self.evaluate(generator, steps=steps, verbose=verbose)

    def predict_generator(self, generator, steps=None, verbose=0, **kwargs):
        return self.predict(generator, steps=steps, verbose=verbose)


def _per_output(value, names: list[str], what: str) -> list:
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"unknown entry in {what} dictionary: {unknown[0]!r}; only expected {names}")
        return [value.get(n) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"when passing a list as {what}, it should have one entry per model output; "
                             f"the model has {len(names)} outputs but you passed {len(value)}")
        return list(value)
    return [value] * len(names)


def _metrics_per_output(specs, names: list[str]) -> list[list]:
    if not specs:
        return [[] for _ in names]
    if isinstance(specs, dict):
        return [data_mod.as_list(specs.get(n)) for n in names]
    if isinstance(specs, (list, tuple)) and specs and all(isinstance(s, (list, tuple)) for s in specs):
        return [list(s) for s in specs]
    return [list(specs) for _ in names]


def _match_rank(y, out):
    """Gives 1-D targets a trailing axis when the output has one (Keras expands them)."""
    if y.dim() == out.dim() - 1:
        return y.unsqueeze(-1)
    return y


def _floatx(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype == np.float64 else a
