"""Shared arithmetic of convolution-like layers: padding, numpy convolution, layout.

Everything here works on channels_last arrays `(N, *spatial, C)`; ops move a
channels_first input there first (`to_channels_last`) and back at the end.
The numpy convolution never loops over pixels: it gathers patches per kernel
tap (strided views) and runs matrix products, so large models run at BLAS speed.
ConvBase holds the attributes every convolution kind shares; the families
(Conv, DepthwiseConv, SeparableConv, ConvTranspose) are in conv_families.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op, as_tuple, require_rank

DATA_FORMATS = ("channels_last", "channels_first")
# activations whose result depends on the axis layout; applied in Keras layout
_AXIS_ACTIVATIONS = {"softmax", "log_softmax", "glu", "sparsemax"}


# ---- layout -------------------------------------------------------------------
def normalize_data_format(value) -> str:
    """Maps Keras 1/2/3 spellings (None, 'tf', 'th') to 'channels_last'|'channels_first'."""
    value = {None: "channels_last", "tf": "channels_last", "th": "channels_first"}.get(value, value)
    if value not in DATA_FORMATS:
        raise UnsupportedLayerError(f"unknown data_format '{value}'",
                                    hint="use 'channels_last' or 'channels_first'")
    return value


def to_channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    """Moves the channel axis of a channels_first array to the end."""
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def from_channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    """Inverse of `to_channels_last`; returns a contiguous array."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1) if data_format == "channels_first" else x)


def spatial_dims(shape: tuple, data_format: str) -> tuple:
    """The spatial sizes of a Keras-layout shape (batch included)."""
    return tuple(shape[2:]) if data_format == "channels_first" else tuple(shape[1:-1])


def channels(shape: tuple, data_format: str):
    """The channel count of a Keras-layout shape."""
    return shape[1] if data_format == "channels_first" else shape[-1]


def make_shape(batch, spatial: tuple, chans, data_format: str) -> tuple:
    """Assembles a Keras-layout shape from its parts."""
    if data_format == "channels_first":
        return (batch, chans, *spatial)
    return (batch, *spatial, chans)


# ---- padding arithmetic ---------------------------------------------------------
def effective_kernel(k: int, dilation: int) -> int:
    """Extent of a dilated kernel."""
    return (k - 1) * dilation + 1


def conv_output_length(size, k: int, stride: int, dilation: int, padding: str):
    """Output length of a TF/Keras convolution or pooling along one axis (None stays None)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    if padding == "valid":
        return max((size - effective_kernel(k, dilation)) // stride + 1, 0)
    if padding == "full":
        return (size + effective_kernel(k, dilation) - 2) // stride + 1
    raise UnsupportedLayerError(f"unknown padding '{padding}'", hint="use 'valid', 'same' or 'causal'")


def same_pads(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF 'same' padding along one axis: (before, after), the odd pixel at the end.

    The total depends on the input size when stride > 1.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel(k, dilation) - size, 0)
    return total // 2, total - total // 2


def explicit_pads(sizes, kernel, strides, dilations, padding: str) -> list[tuple[int, int]] | None:
    """Per-axis (before, after) pads of a Keras padding mode.

    Returns None when 'same' padding with stride > 1 meets an unknown size (the
    ONNX hook then falls back to auto_pad SAME_UPPER, which follows the same
    rule; Keras forbids dilation there, which onnxruntime's SAME_UPPER lacks).
    """
    pads = []
    for size, k, s, d in zip(sizes, kernel, strides, dilations):
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "causal":
            pads.append((effective_kernel(k, d) - 1, 0))
        elif padding == "full":
            e = effective_kernel(k, d) - 1
            pads.append((e, e))
        elif padding == "same":
            if size is None and s > 1:
                return None
            # with stride 1 the total pad is k_eff - 1 whatever the size
            pads.append(same_pads(size or 1, k, s, d))
        else:
            raise UnsupportedLayerError(f"unknown padding '{padding}'", hint="use 'valid', 'same' or 'causal'")
    return pads


def onnx_pads(pads: list[tuple[int, int]]) -> list[int]:
    """ONNX order: all begins, then all ends."""
    return [p[0] for p in pads] + [p[1] for p in pads]


# ---- numpy convolution ------------------------------------------------------------
def pad_spatial(x: np.ndarray, pads: list[tuple[int, int]], value: float = 0.0) -> np.ndarray:
    """Pads the spatial axes of a channels_last array."""
    if all(p == (0, 0) for p in pads):
        return x
    return np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=value)


def tap_view(xp: np.ndarray, tap: tuple, out_sizes: tuple, strides: tuple, dilations: tuple) -> np.ndarray:
    """The strided view of a padded input that one kernel tap reads: (N, *out_sizes, C)."""
    index = [slice(None)]
    for t, n, s, d in zip(tap, out_sizes, strides, dilations):
        start = t * d
        index.append(slice(start, start + (n - 1) * s + 1, s))
    index.append(slice(None))
    return xp[tuple(index)]


# im2col patch matrices are built a band of output rows at a time, at most this many elements each
MAX_PATCH_ELEMENTS = 1 << 23


def conv_nd(x: np.ndarray, kernel: np.ndarray, strides, dilations, pads, groups: int = 1) -> np.ndarray:
    """Cross-correlation of a channels_last input, TF semantics.

    Dense and grouped convs gather patches (im2col, in bands of output rows
    so memory stays bounded) and run one matrix product per band; depthwise
    convs accumulate one broadcast multiply per kernel tap.

    Args:
        x: (N, *spatial, C).
        kernel: (*k, C // groups, O).
        strides, dilations: per spatial axis.
        pads: per-axis (before, after) zero pads.
        groups: channel groups; groups == C with C // groups == 1 is a depthwise conv.

    Returns:
        (N, *out, O) in x's dtype.
    """
    ksize = kernel.shape[:-2]
    cin_g = kernel.shape[-2]
    chans = x.shape[-1]
    if chans != cin_g * groups:
        raise ShapeError(f"input has {chans} channels, the kernel expects {cin_g * groups}")
    xp = pad_spatial(x, pads)
    out_sizes = tuple((xp.shape[1 + i] - effective_kernel(k, d)) // s + 1
                      for i, (k, s, d) in enumerate(zip(ksize, strides, dilations)))
    if min(out_sizes) <= 0:
        raise ShapeError(f"input spatial size {x.shape[1:-1]} is smaller than the kernel {tuple(ksize)}")
    acc_dtype = np.promote_types(x.dtype, np.float32)
    if cin_g == 1 and groups > 1:
        y = _depthwise_taps(xp, kernel, out_sizes, strides, dilations, groups, acc_dtype)
    else:
        y = _im2col_bands(xp, kernel.astype(acc_dtype, copy=False), out_sizes, strides, dilations, groups)
    return y.astype(x.dtype, copy=False)


def _depthwise_taps(xp, kernel, out_sizes, strides, dilations, groups, acc_dtype) -> np.ndarray:
    og = kernel.shape[-1] // groups
    y = np.zeros((xp.shape[0], *out_sizes, groups, og), dtype=acc_dtype)
    for tap in np.ndindex(*kernel.shape[:-2]):
        view = tap_view(xp, tap, out_sizes, strides, dilations)
        y += view[..., :, None] * kernel[tap].reshape(groups, og)
    return y.reshape(*y.shape[:-2], groups * og)


def _im2col_bands(xp, kernel, out_sizes, strides, dilations, groups) -> np.ndarray:
    taps = list(np.ndindex(*kernel.shape[:-2]))
    n, chans, cout = xp.shape[0], xp.shape[-1], kernel.shape[-1]
    cin_g, og = kernel.shape[-2], cout // groups
    # weights as (groups, taps * cin_g, og), matching the patch layout (tap, channel)
    w = kernel.reshape(len(taps), cin_g, groups, og).transpose(2, 0, 1, 3).reshape(groups, len(taps) * cin_g, og)
    y = np.empty((n, *out_sizes, cout), dtype=kernel.dtype)
    row_elems = n * int(np.prod(out_sizes[1:], dtype=np.int64)) * len(taps) * chans
    band = max(1, MAX_PATCH_ELEMENTS // max(row_elems, 1))
    extent0 = effective_kernel(kernel.shape[0], dilations[0])
    for r0 in range(0, out_sizes[0], band):
        r1 = min(out_sizes[0], r0 + band)
        sizes = (r1 - r0, *out_sizes[1:])
        sub = xp[:, r0 * strides[0]:(r1 - 1) * strides[0] + extent0]
        patches = np.empty((n, *sizes, len(taps), chans), dtype=kernel.dtype)
        for t, tap in enumerate(taps):
            patches[..., t, :] = tap_view(sub, tap, sizes, strides, dilations)
        rows = patches.shape[0] * int(np.prod(sizes))
        if groups == 1:
            out = patches.reshape(rows, -1) @ w[0]
        else:
            per_group = patches.reshape(rows, len(taps), groups, cin_g).transpose(2, 0, 1, 3)
            out = np.matmul(per_group.reshape(groups, rows, -1), w).transpose(1, 0, 2).reshape(rows, cout)
        y[:, r0:r1] = out.reshape(n, *sizes, cout)
    return y


def depthwise_as_grouped(kernel: np.ndarray) -> np.ndarray:
    """(*k, C, M) depthwise kernel -> (*k, 1, C*M) grouped kernel; output c*M + m as in TF."""
    *k, c, m = kernel.shape
    return kernel.reshape(*k, 1, c * m)


# ---- Keras layers that share the conv attributes -------------------------------------------
@dataclass
class ConvBase(Op):
    """Attributes and helpers common to every convolution kind (rank from the subclass)."""

    rank: ClassVar[int] = 2

    kernel_size: tuple[int, ...] = (1,)
    strides: tuple[int, ...] = (1,)
    padding: str = "valid"
    data_format: str = "channels_last"
    dilation_rate: tuple[int, ...] = (1,)
    activation: str = "linear"
    use_bias: bool = True

    def __post_init__(self):
        self.kernel_size = as_tuple(self.kernel_size, self.rank)
        self.strides = as_tuple(self.strides, self.rank)
        self.dilation_rate = as_tuple(self.dilation_rate, self.rank)
        self.data_format = normalize_data_format(self.data_format)
        self.padding = str(self.padding).lower()
        if any(s > 1 for s in self.strides) and any(d > 1 for d in self.dilation_rate):
            raise UnsupportedLayerError(f"{self.kind} with both strides > 1 and dilation_rate > 1",
                                        hint="Keras itself rejects this combination")

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext):
        config = dict(config)
        if config.get("atrous_rate") is not None:  # Keras 1 AtrousConvolution spelling
            config["dilation_rate"] = config["atrous_rate"]
        config["activation"] = activation_fns.canonical(config.get("activation"), ctx.keras_major)
        config["data_format"] = normalize_data_format(config.get("data_format"))
        return super().from_keras(config, ctx)

    def keras_config(self, flavor: str = "keras3") -> dict:
        if self.padding == "full":
            raise ExportError(f"{self.kind} with Keras 1 padding='full' has no {flavor} spelling",
                              hint="export to ONNX or torch, or put a ZeroPadding layer before a 'valid' conv")
        return super().keras_config(flavor)

    # shapes
    def check_input(self, shape) -> None:
        require_rank(shape, self.rank + 2, self.kind)

    def in_channels(self, shape):
        return channels(shape, self.data_format)

    def conv_out_spatial(self, shape) -> tuple:
        return tuple(conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
                     zip(spatial_dims(shape, self.data_format), self.kernel_size, self.strides,
                         self.dilation_rate))

    def pads_for(self, spatial: tuple):
        return explicit_pads(spatial, self.kernel_size, self.strides, self.dilation_rate, self.padding)

    def finish(self, y: np.ndarray, w: dict) -> np.ndarray:
        """Adds the bias and the activation on a channels_last result, returns Keras layout."""
        if self.use_bias:
            y = y + w["bias"].astype(y.dtype)
        if self.activation in _AXIS_ACTIVATIONS:
            return activation_fns.apply(self.activation, from_channels_last(y, self.data_format))
        return from_channels_last(activation_fns.apply(self.activation, y), self.data_format)

    # ONNX
    def onnx_in(self, g, x: str) -> str:
        """Keras layout -> NC* for ONNX."""
        return to_nchw(g, x, self.rank) if self.data_format == "channels_last" else x

    def onnx_out(self, g, y: str) -> str:
        """NC* result -> activation -> Keras layout."""
        if self.activation not in _AXIS_ACTIVATIONS:
            y = activation_fns.to_onnx(g, self.activation, y)
        if self.data_format == "channels_last":
            y = from_nchw(g, y, self.rank)
        if self.activation in _AXIS_ACTIVATIONS:
            y = activation_fns.to_onnx(g, self.activation, y)
        return y

    def torch_padded_input(self, t, x: str, node) -> str:
        """Keras-layout input -> NC* -> padded as this layer pads (PyTorch source)."""
        if self.data_format == "channels_last":
            x = torch_to_nchw(t, x, self.rank)
        x, _ = torch_pad(t, x, spatial_dims(node.in_shapes[0], self.data_format), self.kernel_size, self.strides,
                         self.dilation_rate, self.padding)
        return x

    def onnx_conv_input(self, g, x_nchw: str, spatial: tuple) -> tuple[str, dict]:
        """The (possibly pre-padded) Conv input and its attributes for this layer's padding."""
        attrs = {"kernel_shape": list(self.kernel_size), "strides": list(self.strides),
                 "dilations": list(self.dilation_rate)}
        x, padding = onnx_same_padding(g, x_nchw, spatial, self.kernel_size, self.strides, self.dilation_rate,
                                       self.padding)
        return x, {**attrs, **padding}


def same_upper_is_exact(kernel, strides, dilations) -> bool:
    """Whether ONNX auto_pad SAME_UPPER reproduces TF 'same' for every input size.

    onnxruntime computes the total pad without clamping it at zero, so a window
    smaller than its stride makes it fail on some sizes.
    """
    return all(effective_kernel(k, d) >= s for k, s, d in zip(kernel, strides, dilations))


def onnx_same_padding(g, x_nchw: str, spatial: tuple, kernel, strides, dilations, padding: str,
                      pad_value: float = 0.0) -> tuple[str, dict]:
    """How a Conv/Pool node gets Keras padding: returns (input, attributes).

    Known sizes give explicit `pads`; unknown sizes with 'same' and stride > 1
    give auto_pad SAME_UPPER, or, where that would go wrong, a Pad node whose
    pads are computed from the runtime shape.
    """
    pads = explicit_pads(spatial, kernel, strides, dilations, padding)
    if pads is not None:
        return x_nchw, {"pads": onnx_pads(pads)}
    if same_upper_is_exact(kernel, strides, dilations):
        return x_nchw, {"auto_pad": "SAME_UPPER"}
    pads_tensor = onnx_runtime_same_pads(g, x_nchw, len(spatial), kernel, strides, dilations)
    padded = g.op("Pad", [x_nchw, pads_tensor, g.const(np.array(pad_value, np.float32))], mode="constant")
    return padded, {"pads": [0] * (2 * len(spatial))}


def onnx_runtime_same_pads(g, x_nchw: str, rank: int, kernel, strides, dilations) -> str:
    """The Pad `pads` input (int64, all axes) of TF 'same' padding, computed from the runtime shape."""
    size = g.op("Slice", [g.op("Shape", [x_nchw]), g.ints([2]), g.ints([2 + rank]), g.ints([0])])
    s = g.ints(list(strides))
    k = g.ints([effective_kernel(kk, d) for kk, d in zip(kernel, dilations)])
    one = g.ints([1])
    out = g.op("Div", [g.op("Sub", [g.op("Add", [size, s]), one]), s])  # ceil(size / stride)
    reach = g.op("Add", [g.op("Mul", [g.op("Sub", [out, one]), s]), k])
    total = g.op("Max", [g.op("Sub", [reach, size]), g.ints([0] * rank)])
    before = g.op("Div", [total, g.ints([2] * rank)])
    after = g.op("Sub", [total, before])
    zeros = g.ints([0, 0])
    return g.op("Concat", [zeros, before, zeros, after], axis=0)


def to_nchw(g, x: str, rank: int) -> str:
    """Transposes (N, *spatial, C) to (N, C, *spatial) in ONNX."""
    return g.op("Transpose", [x], perm=[0, rank + 1, *range(1, rank + 1)])


def from_nchw(g, x: str, rank: int) -> str:
    """Transposes (N, C, *spatial) to (N, *spatial, C) in ONNX."""
    return g.op("Transpose", [x], perm=[0, *range(2, rank + 2), 1])


def kernel_to_oihw(kernel: np.ndarray) -> np.ndarray:
    """Keras (*k, in, out) -> ONNX (out, in, *k)."""
    r = kernel.ndim - 2
    return np.ascontiguousarray(np.transpose(kernel, (r + 1, r, *range(r))).astype(np.float32))


def check_filters_groups(filters: int, groups: int, kind: str) -> None:
    """Keras requires filters to split evenly over the groups."""
    if groups < 1 or filters % groups:
        raise ShapeError(f"{kind}: filters={filters} is not divisible by groups={groups}")


def const_bias(g, op, w: dict, node) -> list[str]:
    """The optional ONNX bias input of a conv node."""
    return [g.const(w["bias"].astype(np.float32), f"{node.layer}/bias")] if op.use_bias else []


# ---- transposed convolution -------------------------------------------------------------
def transpose_output_length(size, k: int, stride: int, dilation: int, padding: str, output_padding):
    """Output length of Keras ConvTranspose along one axis (Keras 2 and 3 agree)."""
    if size is None:
        return None
    k = effective_kernel(k, dilation)
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return (size - 1) * stride + k + extra
    if padding == "same":
        return size * stride if output_padding is None else (size - 1) * stride + k % 2 + output_padding
    raise UnsupportedLayerError(f"unknown padding '{padding}' for a transposed convolution",
                                hint="use 'valid' or 'same'")


def transpose_crop(size, k: int, stride: int, dilation: int, padding: str, output_padding) -> tuple[int, int]:
    """How the full scatter result is cut to the Keras output along one axis.

    The full result has length (size - 1) * stride + k_eff. TF takes the slice
    starting at the forward conv's 'before' pad; the cut does not depend on the
    input size, so it holds for unknown sizes too.

    Returns:
        (begin, end): cells dropped at the start, and cells dropped at the end
        (negative: zero cells appended at the end).
    """
    n = 1 if size is None else size
    out = transpose_output_length(n, k, stride, dilation, padding, output_padding)
    full = (n - 1) * stride + effective_kernel(k, dilation)
    begin = max(full - out, 0) // 2 if padding == "same" else 0
    return begin, full - begin - out


# ---- PyTorch ---------------------------------------------------------------------------
# generated-code helper: TF 'same' padding from the runtime shape of an NC* tensor
TORCH_SAME_PAD = '''
def tf_same_pad(x: torch.Tensor, kernel: list[int], strides: list[int], dilations: list[int],
                value: float) -> torch.Tensor:
    """Pads the spatial axes of an NC* tensor as TF 'same' does (the odd cell at the end)."""
    pads: list[int] = []
    for i in range(len(kernel) - 1, -1, -1):
        size = x.shape[2 + i]
        out = (size + strides[i] - 1) // strides[i]
        total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    return F.pad(x, pads, value=value)
'''
NEG_INF = "float('-inf')"


def torch_pad(t, x: str, spatial: tuple, kernel, strides, dilations, padding: str,
              value: str = "0.0") -> tuple[str, bool]:
    """Emits the Keras padding of an NC* tensor; returns (variable, whether anything was padded).

    Known sizes give a literal F.pad; unknown sizes with strided 'same' call the
    `tf_same_pad` helper, which computes the pads from the runtime shape.
    """
    pads = explicit_pads(spatial, kernel, strides, dilations, padding)
    if pads is None:
        t.helper("tf_same_pad", TORCH_SAME_PAD)
        return t.line(f"tf_same_pad({x}, {list(kernel)}, {list(strides)}, {list(dilations)}, {value})"), True
    if all(p == (0, 0) for p in pads):
        return x, False
    flat = [v for p in reversed(pads) for v in p]  # F.pad lists the last axis first
    return t.line(f"F.pad({x}, {flat}, value={value})"), True


def torch_to_nchw(t, x: str, rank: int) -> str:
    """Emits (N, *spatial, C) -> (N, C, *spatial)."""
    return t.line(f"{x}.permute({', '.join(map(str, [0, rank + 1, *range(1, rank + 1)]))})")


def torch_from_nchw(t, x: str, rank: int) -> str:
    """Emits (N, C, *spatial) -> (N, *spatial, C)."""
    return t.line(f"{x}.permute({', '.join(map(str, [0, *range(2, rank + 2), 1]))})")


def torch_kernel_layout(rank: int):
    """Keras (*k, in, out) -> torch Conv weight (out, in, *k)."""
    from kport.exporters.torch.layouts import Perm

    return Perm((rank + 1, rank, *range(rank)))
