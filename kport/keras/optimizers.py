"""`keras.optimizers`: the Keras 2 optimizers, update formulas as multi-backend Keras 2.2 wrote them.

The engine follows the Keras 2.2 formulas (kept in tf_keras as
`tf_keras.src.optimizers.optimizer_v1`), not torch's nor Keras 3's, because
those are what models of that era were trained with:
- SGD: v = momentum*v - lr*g; nesterov: p += momentum*v - lr*g, else p += v.
- RMSprop: a = rho*a + (1-rho)*g^2; p -= lr*g / (sqrt(a) + eps)  (eps outside the sqrt).
- Adagrad: a += g^2 (from zero); p -= lr*g / (sqrt(a) + eps).
- Adadelta: a = rho*a + (1-rho)*g^2; u = g*sqrt(d + eps)/sqrt(a + eps); p -= lr*u; d = rho*d + (1-rho)*u^2.
- Adam: lr_t = lr*sqrt(1-b2^t)/(1-b1^t); p -= lr_t*m / (sqrt(v) + eps)  ("epsilon hat");
  amsgrad uses max(vhat, v).
- Adamax: lr_t = lr/(1-b1^t); u = max(b2*u, |g|); p -= lr_t*m / (u + eps).
- Nadam: Dozat's schedule with momentum cache 0.96^(t*schedule_decay).
`decay` scales lr by 1/(1 + decay*iterations); `clipnorm` clips each gradient's
norm, `clipvalue` each element. eps defaults to K.epsilon() = 1e-7.
`lr` and `learning_rate` are both accepted.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from kport.keras import backend as K


class Optimizer:
    """Base optimizer: hyper-parameters as torch scalars (`K.get_value(opt.lr)` works), slots per parameter."""

    _hyper: tuple[str, ...] = ()

    def __init__(self, lr: float | None = None, learning_rate: float | None = None, decay: float = 0.0,
                 clipnorm: float | None = None, clipvalue: float | None = None, default_lr: float = 0.01,
                 **kwargs):
        unknown = set(kwargs) - {"name", "epsilon_is_none"}
        if unknown:
            raise TypeError(f"Unexpected keyword argument passed to optimizer: {sorted(unknown)[0]}")
        value = learning_rate if learning_rate is not None else (lr if lr is not None else default_lr)
        self._lr = _host_variable(value, "lr")
        self.decay = _host_variable(decay, "decay")
        self.initial_decay = float(decay)
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.iterations = 0
        self._slots: dict[int, dict[str, Any]] = {}

    # Keras exposes the learning rate as `lr` and (tf.keras) `learning_rate`
    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        K.set_value(self._lr, float(K.get_value(value)))

    learning_rate = lr

    def current_lr(self) -> float:
        """The learning rate of the next step, with `decay` applied (float32 like Keras)."""
        lr = float(self._lr)
        if self.initial_decay > 0:
            lr = lr * (1.0 / (1.0 + float(self.decay) * self.iterations))
        return lr

    def _clip(self, grads: list) -> list:
        import torch

        if self.clipnorm is not None and self.clipnorm > 0:
            clipped = []
            for g in grads:
                norm = torch.sqrt((g * g).sum())
                ceiling = torch.tensor(self.clipnorm, dtype=g.dtype, device=g.device)
                clipped.append(g * self.clipnorm / torch.maximum(norm, ceiling))
            grads = clipped
        if self.clipvalue is not None and self.clipvalue > 0:
            grads = [torch.clamp(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def apply_gradients(self, params: list, grads: list) -> None:
        """One Keras update of every parameter; then `iterations` += 1.

        The update runs over all parameters at once (torch `_foreach_*` multi-tensor ops, in place on
        the parameters and the slots): the same Keras formula per element, without a Python loop of
        small tensor ops per parameter.
        """
        import torch

        with torch.no_grad(), _flushed_denormals():
            grads = self._clip([torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)])
            lr = self.current_lr()
            self.iterations += 1
            self._begin_step(self.iterations)
            slots = []
            for p in params:
                entry = self._slots.get(id(p))
                if entry is None:
                    entry = self._slots[id(p)] = self._make_slots(p)
                slots.append(entry)
            self._update_all(list(params), grads, slots, lr, self.iterations)
            for p in params:
                constraint = getattr(p, "constraint", None)
                if constraint is not None:
                    p.copy_(constraint(p))

    def to(self, device) -> None:
        """Moves the slots (a model moved with `model.to(device)` takes its optimizer state along)."""
        for entry in self._slots.values():
            for name, value in entry.items():
                entry[name] = value.to(device)

    def _begin_step(self, t: int) -> None:
        """Per-step state shared by all parameters (Nadam's momentum schedule)."""

    def _make_slots(self, p) -> dict:
        return {}

    def _update_all(self, params: list, grads: list, slots: list[dict], lr: float, t: int) -> None:
        """Updates `params` and their slot tensors in place (one Keras step)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        config = {"lr": float(self._lr), "decay": self.initial_decay}
        config.update({name: getattr(self, name) for name in self._hyper})
        if self.clipnorm is not None:
            config["clipnorm"] = self.clipnorm
        if self.clipvalue is not None:
            config["clipvalue"] = self.clipvalue
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Optimizer":
        return cls(**config)

    # ---- state in Keras 2's order (optimizer_v1 `weights`), for model files ---------------------
    _prefix: tuple[str, ...] = ("iterations",)  # scalars before the slots
    _slot_order: tuple[str, ...] = ()

    def keras_weights(self, params: list) -> list:
        """The state as Keras 2 lists it: the prefix scalars, then each slot kind over all parameters.

        Args:
            params: (torch parameter, layout) pairs in the model's trainable-weight order; the
                layout (kport.exporters.torch.layouts) turns a slot into the Keras weight layout.
        """
        import numpy as np

        out = [np.array(self._prefix_value(name), dtype="int64" if name == "iterations" else "float32")
               for name in self._prefix]
        for slot in self._slot_order:
            for p, layout in params:
                value = self._slots.get(id(p), {}).get(slot)
                if value is None:
                    out.append(self._placeholder(slot, layout.to_keras(np.zeros(tuple(p.shape), "float32"))))
                else:
                    out.append(layout.to_keras(value.detach().cpu().numpy()))
        return out

    def set_keras_weights(self, params: list, arrays: list) -> None:
        """Restores `keras_weights` output (e.g. read from a model file); all of it or, on a mismatch, nothing.

        Raises:
            ValueError: the number of arrays or a slot's size does not fit the model's parameters.
        """
        import torch

        arrays = list(arrays)
        expected = len(self._prefix) + len(self._slot_order) * len(params)
        if len(arrays) != expected:
            raise ValueError(f"{type(self).__name__} state has {len(arrays)} arrays, the model needs {expected}")
        prefix, rest = arrays[:len(self._prefix)], arrays[len(self._prefix):]
        staged = []  # (parameter, slot, tensor): checked before anything changes
        for slot in self._slot_order:
            for p, layout in params:
                value = np.asarray(rest.pop(0))
                if slot not in self._make_slots(p):
                    continue  # Keras keeps a placeholder (Adam's vhat without amsgrad)
                value = layout.to_torch(value).astype("float32")
                if value.size != p.numel():
                    raise ValueError(f"{type(self).__name__} slot '{slot}' has {value.size} values, the parameter "
                                     f"{tuple(p.shape)} needs {p.numel()}")
                staged.append((p, slot, torch.from_numpy(value).reshape(p.shape).to(p.device)))
        for name, value in zip(self._prefix, prefix):
            self._set_prefix_value(name, value)
        for p, slot, tensor in staged:
            self._slots.setdefault(id(p), self._make_slots(p))[slot] = tensor

    def _prefix_value(self, name: str):
        return self.iterations if name == "iterations" else getattr(self, name)

    def _set_prefix_value(self, name: str, value) -> None:
        if name == "iterations":
            self.iterations = int(value)
        else:
            setattr(self, name, float(value))

    def _placeholder(self, slot: str, zeros):
        return zeros


def _host_variable(value: float, name: str):
    """A hyper-parameter variable kept on the CPU: reading it at every step must not wait for a GPU."""
    import torch

    variable = torch.nn.Parameter(torch.tensor(float(value), dtype=torch.float32), requires_grad=False)
    variable.keras_name = name
    return variable


def _zeros(p):
    import torch

    return torch.zeros_like(p)


def _torch():
    import torch

    return torch


def _column(slots: list[dict], name: str) -> list:
    """One slot kind over all parameters (the tensors the fused ops update in place)."""
    return [entry[name] for entry in slots]


def _moments(m: list, v: list, grads: list, beta_1: float, beta_2: float) -> None:
    """m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2, in place over all parameters."""
    torch = _torch()
    torch._foreach_mul_(m, beta_1)
    torch._foreach_add_(m, grads, alpha=1.0 - beta_1)
    torch._foreach_mul_(v, beta_2)
    torch._foreach_addcmul_(v, grads, grads, value=1.0 - beta_2)


# the smallest normal float32: sqrt(TINY) ~ 1e-19 vanishes next to any epsilon >= EPSILON_FLOOR in float32
TINY = 1.1754944e-38
EPSILON_FLOOR = 1e-12


def _sqrt_plus(values: list, epsilon: float) -> list:
    """sqrt(v) + epsilon over all parameters, as new tensors.

    Zeros (the accumulators of units that get no gradient) are raised to TINY first: torch's CPU sqrt of
    0.0 runs ~10x slower than of other values, and in float32 `sqrt(TINY) + epsilon == epsilon`
    exactly, so the Keras result does not change (a zero or tiny epsilon keeps the plain formula).
    """
    torch = _torch()
    if epsilon >= EPSILON_FLOOR:
        out = torch._foreach_maximum(values, TINY)
        torch._foreach_sqrt_(out)
    else:
        out = torch._foreach_sqrt(values)
    torch._foreach_add_(out, epsilon)
    return out


class _flushed_denormals:
    """Flushes float32 denormals to zero during an update, as TensorFlow's CPU kernels do.

    Decaying slots (rho*a, beta*m) of parameters without gradient pass through the denormal range,
    where CPU arithmetic runs many times slower. Restores the caller's mode afterwards.
    """

    def __enter__(self):
        torch = _torch()
        self.was_on = (torch.tensor([1e-30]) * 1e-10).item() == 0.0  # a denormal result reads 0 when flushing
        if not self.was_on:
            self.set = torch.set_flush_denormal(True)
        return self

    def __exit__(self, *exc):
        if not self.was_on and self.set:
            _torch().set_flush_denormal(False)


def _step_over_root(params: list, grads: list, accumulators: list, epsilon: float, lr: float) -> None:
    """p -= lr*g / (sqrt(a) + eps): epsilon outside the sqrt (RMSprop, Adagrad)."""
    torch = _torch()
    denominator = _sqrt_plus(accumulators, epsilon)
    torch._foreach_addcdiv_(params, grads, denominator, value=-lr)


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, Nesterov momentum and decay."""

    _hyper = ("momentum", "nesterov")
    _slot_order = ("moment",)

    def __init__(self, lr=None, momentum: float = 0.0, decay: float = 0.0, nesterov: bool = False, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.01, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _make_slots(self, p):
        return {"moment": _zeros(p)}

    def _update_all(self, params, grads, slots, lr, t):
        torch = _torch()
        v = _column(slots, "moment")
        torch._foreach_mul_(v, self.momentum)  # v = momentum*v - lr*g
        torch._foreach_add_(v, grads, alpha=-lr)
        if self.nesterov:  # p += momentum*v - lr*g
            torch._foreach_add_(params, v, alpha=self.momentum)
            torch._foreach_add_(params, grads, alpha=-lr)
        else:
            torch._foreach_add_(params, v)


class RMSprop(Optimizer):
    _hyper = ("rho", "epsilon")
    _prefix = ()
    _slot_order = ("accumulator",)

    def __init__(self, lr=None, rho: float = 0.9, epsilon: float | None = None, decay: float = 0.0, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.001, **kwargs)
        self.rho = float(rho)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)

    def _make_slots(self, p):
        return {"accumulator": _zeros(p)}

    def _update_all(self, params, grads, slots, lr, t):
        torch = _torch()
        a = _column(slots, "accumulator")
        torch._foreach_mul_(a, self.rho)  # a = rho*a + (1-rho)*g^2
        torch._foreach_addcmul_(a, grads, grads, value=1.0 - self.rho)
        _step_over_root(params, grads, a, self.epsilon, lr)


class Adagrad(Optimizer):
    _hyper = ("epsilon",)
    _prefix = ()
    _slot_order = ("accumulator",)

    def __init__(self, lr=None, epsilon: float | None = None, decay: float = 0.0, **kwargs):
        kwargs.pop("initial_accumulator_value", None)  # tf.keras spelling; Keras 2.2 starts at zero
        super().__init__(lr=lr, decay=decay, default_lr=0.01, **kwargs)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)

    def _make_slots(self, p):
        return {"accumulator": _zeros(p)}

    def _update_all(self, params, grads, slots, lr, t):
        torch = _torch()
        a = _column(slots, "accumulator")
        torch._foreach_addcmul_(a, grads, grads)  # a += g^2
        _step_over_root(params, grads, a, self.epsilon, lr)


class Adadelta(Optimizer):
    _hyper = ("rho", "epsilon")
    _prefix = ()
    _slot_order = ("accumulator", "delta_accumulator")

    def __init__(self, lr=None, rho: float = 0.95, epsilon: float | None = None, decay: float = 0.0, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=1.0, **kwargs)
        self.rho = float(rho)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)

    def _make_slots(self, p):
        return {"accumulator": _zeros(p), "delta_accumulator": _zeros(p)}

    def _update_all(self, params, grads, slots, lr, t):
        torch = _torch()
        a, d = _column(slots, "accumulator"), _column(slots, "delta_accumulator")
        torch._foreach_mul_(a, self.rho)  # a = rho*a + (1-rho)*g^2
        torch._foreach_addcmul_(a, grads, grads, value=1.0 - self.rho)
        numerator = torch._foreach_add(d, self.epsilon)  # u = g*sqrt(d + eps)/sqrt(a + eps)
        torch._foreach_sqrt_(numerator)
        denominator = torch._foreach_add(a, self.epsilon)
        torch._foreach_sqrt_(denominator)
        update = torch._foreach_mul(grads, numerator)
        torch._foreach_div_(update, denominator)
        torch._foreach_add_(params, update, alpha=-lr)
        torch._foreach_mul_(d, self.rho)  # d = rho*d + (1-rho)*u^2
        torch._foreach_addcmul_(d, update, update, value=1.0 - self.rho)


class Adam(Optimizer):
    _hyper = ("beta_1", "beta_2", "epsilon", "amsgrad")
    _slot_order = ("m", "v", "vhat")

    def _placeholder(self, slot, zeros):
        import numpy as np

        # Keras 2 keeps a one-element vhat per parameter when amsgrad is off
        return np.zeros((1,), "float32") if slot == "vhat" and not self.amsgrad else zeros

    def __init__(self, lr=None, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float | None = None,
                 decay: float = 0.0, amsgrad: bool = False, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.001, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)
        self.amsgrad = bool(amsgrad)

    def _make_slots(self, p):
        slots = {"m": _zeros(p), "v": _zeros(p)}
        if self.amsgrad:
            slots["vhat"] = _zeros(p)
        return slots

    def _update_all(self, params, grads, slots, lr, t):
        torch = _torch()
        lr_t = lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        m, v = _column(slots, "m"), _column(slots, "v")
        _moments(m, v, grads, self.beta_1, self.beta_2)
        if self.amsgrad:
            vhat = _column(slots, "vhat")
            torch._foreach_maximum_(vhat, v)
            v = vhat
        denominator = _sqrt_plus(v, self.epsilon)  # epsilon outside the sqrt ("epsilon hat")
        torch._foreach_addcdiv_(params, m, denominator, value=-lr_t)


class Adamax(Optimizer):
    _hyper = ("beta_1", "beta_2", "epsilon")
    _slot_order = ("m", "u")

    def __init__(self, lr=None, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float | None = None,
                 decay: float = 0.0, **kwargs):
        super().__init__(lr=lr, decay=decay, default_lr=0.002, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)

    def _make_slots(self, p):
        return {"m": _zeros(p), "u": _zeros(p)}

    def _update_all(self, params, grads, slots, lr, t):
        torch = _torch()
        lr_t = lr / (1.0 - self.beta_1 ** t)
        m, u = _column(slots, "m"), _column(slots, "u")
        torch._foreach_mul_(m, self.beta_1)
        torch._foreach_add_(m, grads, alpha=1.0 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)  # u = max(b2*u, |g|)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denominator = torch._foreach_add(u, self.epsilon)
        torch._foreach_addcdiv_(params, m, denominator, value=-lr_t)


class Nadam(Optimizer):
    """Keras 2 Nadam (no `decay`; Dozat's warming momentum schedule)."""

    _hyper = ("beta_1", "beta_2", "epsilon", "schedule_decay")
    _prefix = ("iterations", "m_schedule")
    _slot_order = ("m", "v")

    def __init__(self, lr=None, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float | None = None,
                 schedule_decay: float = 0.004, **kwargs):
        super().__init__(lr=lr, default_lr=0.002, **kwargs)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)
        self.schedule_decay = float(schedule_decay)
        self.m_schedule = 1.0
        self._step: dict[str, float] = {}

    def _begin_step(self, t):
        cache_t = self.beta_1 * (1.0 - 0.5 * 0.96 ** (t * self.schedule_decay))
        cache_t_1 = self.beta_1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.schedule_decay))
        schedule_new = self.m_schedule * cache_t
        self._step = {"cache_t": cache_t, "cache_t_1": cache_t_1, "schedule_new": schedule_new,
                      "schedule_next": schedule_new * cache_t_1}
        self.m_schedule = schedule_new

    def _make_slots(self, p):
        return {"m": _zeros(p), "v": _zeros(p)}

    def _update_all(self, params, grads, slots, lr, t):
        torch = _torch()
        s = self._step
        m, v = _column(slots, "m"), _column(slots, "v")
        _moments(m, v, grads, self.beta_1, self.beta_2)
        # m_bar = (1-cache_t)*g/(1-schedule_new) + cache_t_1*m/(1-schedule_next)
        m_bar = torch._foreach_mul(grads, (1.0 - s["cache_t"]) / (1.0 - s["schedule_new"]))
        torch._foreach_add_(m_bar, m, alpha=s["cache_t_1"] / (1.0 - s["schedule_next"]))
        denominator = _sqrt_plus(torch._foreach_div(v, 1.0 - self.beta_2 ** t), self.epsilon)  # sqrt(v/(1-b2^t))+eps
        torch._foreach_addcdiv_(params, m_bar, denominator, value=-lr)


sgd, rmsprop, adagrad, adadelta, adam, adamax, nadam = SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam

_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta, "adam": Adam,
            "adamax": Adamax, "nadam": Nadam}


def get(identifier: Any) -> Optimizer:
    """Resolves an optimizer from a name, a Keras config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(str(identifier.get("class_name", "")).lower())
        if cls is not None:
            return cls(**_accepted(cls, identifier.get("config", {})))
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")


def _accepted(cls: type, config: dict) -> dict:
    """Keeps the config keys the Keras 2 optimizer understands (files of later Keras add others)."""
    import inspect
    import warnings

    names = set(inspect.signature(cls.__init__).parameters) | set(inspect.signature(Optimizer.__init__).parameters)
    names -= {"self", "kwargs", "default_lr"}
    names |= {"name", "initial_accumulator_value"}
    dropped = sorted(k for k in config if k not in names)
    if dropped:
        warnings.warn(f"{cls.__name__}: ignoring optimizer settings the Keras 2 formulas do not use: {dropped}")
    return {k: v for k, v in config.items() if k in names and v is not None}


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict) -> Optimizer:
    return get(config)
