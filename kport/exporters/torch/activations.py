"""Keras activations as plain-PyTorch expressions (canonical names from ops/activation_fns)."""
from __future__ import annotations

from kport.errors import ExportError

# canonical name -> expression template over {x}
EXPRESSIONS = {
    "linear": "{x}",
    "relu": "F.relu({x})",
    "relu6": "F.relu6({x})",
    "sigmoid": "torch.sigmoid({x})",
    "tanh": "torch.tanh({x})",
    "softmax": "F.softmax({x}, dim={axis})",
    "log_softmax": "F.log_softmax({x}, dim={axis})",
    "softplus": "F.softplus({x})",
    "softsign": "F.softsign({x})",
    "elu": "F.elu({x}, alpha={alpha})",
    "selu": "F.selu({x})",
    "celu": "F.celu({x}, alpha={alpha})",
    "exponential": "torch.exp({x})",
    "hard_sigmoid": "torch.clamp(0.2 * {x} + 0.5, 0.0, 1.0)",
    "hard_sigmoid_v3": "F.hardsigmoid({x})",
    "hard_silu": "F.hardswish({x})",
    "hard_tanh": "F.hardtanh({x})",
    "silu": "F.silu({x})",
    "gelu": "F.gelu({x})",
    "gelu_tanh": "F.gelu({x}, approximate='tanh')",
    "leaky_relu": "F.leaky_relu({x}, negative_slope={negative_slope})",
    "mish": "F.mish({x})",
    "log_sigmoid": "F.logsigmoid({x})",
    "tanh_shrink": "F.tanhshrink({x})",
    "hard_shrink": "F.hardshrink({x}, lambd={threshold})",
    "soft_shrink": "F.softshrink({x}, lambd={threshold})",
    "squareplus": "({x} + torch.sqrt({x} * {x} + {b})) / 2",
    "sparse_plus": "torch.where({x} <= -1, torch.zeros_like({x}), torch.where({x} >= 1, {x}, ({x} + 1) ** 2 / 4))",
    "sparse_sigmoid": "torch.clamp(0.5 * ({x} + 1), 0.0, 1.0)",
    "glu": "F.glu({x}, dim={axis})",
    "sparsemax": "keras_sparsemax({x}, {axis})",
}
# helper functions some expressions call, added to the generated file once
HELPERS = {"sparsemax": ("keras_sparsemax", '''
def keras_sparsemax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Keras 3's sparsemax: tau = (sum of the support's cumulative sums - 1) / k (see ops/activation_fns.py)."""
    z = torch.sort(x, dim=dim, descending=True)[0]
    cssv = torch.cumsum(z, dim=dim)
    r = torch.cumsum(torch.ones_like(z), dim=dim)
    support = (z - (cssv - 1) / r) > 0
    k = support.to(x.dtype).sum(dim=dim, keepdim=True)
    tau = (torch.where(support, cssv, torch.zeros_like(cssv)).sum(dim=dim, keepdim=True) - 1) / k
    return torch.clamp(x - tau, min=0.0)
''')}
DEFAULTS = {"axis": -1, "alpha": 1.0, "negative_slope": 0.2, "threshold": 0.5, "b": 4.0}


def to_torch(t, name: str, x: str, **params) -> str:
    """Emits an activation as a forward line and returns the variable holding it."""
    if name == "linear":
        return x
    if name not in EXPRESSIONS:
        raise ExportError(f"activation '{name}' has no PyTorch form")
    values = {**DEFAULTS, **params, "x": x}
    if name in HELPERS:
        t.helper(*HELPERS[name])
    return t.line(EXPRESSIONS[name].format(**values))
