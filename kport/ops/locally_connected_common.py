"""LocallyConnected1D/2D: a convolution whose weights are not shared, one kernel per output position.

Weights are held as Keras implementation 1 stores them, whatever the era:
- kernel (positions, prod(kernel_size) * in_channels, filters); each position's rows follow
  the order Keras flattens a patch in: (*kernel_size, channel) for channels_last,
  (channel, *kernel_size) for channels_first;
- bias (*out_spatial, filters), which Keras adds to a channels_first output after a raw
  reshape to (filters, *out_spatial), not a transpose (Keras 1.2.2, 2.2.4 and tf.keras alike).
tf.keras implementation 2 (masked dense kernel) and 3 (sparse kernel) files are converted to
this layout on load. Patches are sliced, never convolved, so Theano-era kernels need no flip.
tf.keras 'same' (implementations 2/3 only) centres window p on input p * stride: k // 2 cells
before it, the rest after, clipped to the input; that is a 'valid' layer over the input
zero-padded by k // 2 before and what the last window needs after (taps on the padding hold zeros).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import UnsupportedLayerError, WeightError
from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op, as_tuple, require_rank
from kport.ops.conv_common import normalize_data_format


@dataclass
class LocallyConnectedND(Op):
    """Unshared-weight convolution ('valid', or tf.keras 'same'); the rank comes from the subclass.

    Attributes:
        implementation: how the source file stored the kernel (tf.keras 1, 2 or 3); the held
            weights are always implementation 1's, and written files say 1.
    """

    rank: ClassVar[int] = 2

    filters: int = 1
    kernel_size: tuple[int, ...] = (1,)
    strides: tuple[int, ...] = (1,)
    padding: str = "valid"
    data_format: str = "channels_last"
    activation: str = "linear"
    use_bias: bool = True
    implementation: int = 1

    def __post_init__(self):
        self.kernel_size = as_tuple(self.kernel_size, self.rank)
        self.strides = as_tuple(self.strides, self.rank)
        self.data_format = normalize_data_format(self.data_format)
        self.padding = str(self.padding).lower()
        if self.padding not in ("valid", "same"):
            raise UnsupportedLayerError(f"{self.kind} with padding='{self.padding}' is not supported",
                                        hint="Keras knows 'valid' and (tf.keras implementations 2/3) 'same'")
        if self.implementation not in (1, 2, 3):
            raise UnsupportedLayerError(f"{self.kind} implementation={self.implementation} is unknown",
                                        hint="tf.keras knows implementations 1, 2 and 3")

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext):
        config = dict(config)
        config["activation"] = activation_fns.canonical(config.get("activation"), ctx.keras_major)
        config["data_format"] = normalize_data_format(config.get("data_format"))
        return super().from_keras(config, ctx)

    def keras_config(self, flavor: str = "keras3") -> dict:
        config = super().keras_config(flavor)
        config["implementation"] = 1  # the held weights are implementation 1's
        return config

    # ---- shapes -------------------------------------------------------------
    def spatial(self, shape) -> tuple:
        require_rank(shape, self.rank + 2, self.kind)
        return tuple(shape[2:]) if self.data_format == "channels_first" else tuple(shape[1:-1])

    def in_channels(self, shape):
        return shape[1] if self.data_format == "channels_first" else shape[-1]

    def out_spatial(self, shape) -> tuple:
        out = []
        for n, k, s in zip(self.spatial(shape), self.kernel_size, self.strides):
            if self.padding == "same":
                out.append(None if n is None else -(-n // s))
                continue
            if n is not None and n < k:
                raise UnsupportedLayerError(f"{self.kind}: input size {n} is smaller than the kernel {k}")
            out.append(None if n is None else (n - k) // s + 1)
        return tuple(out)

    def pads(self, spatial) -> list[tuple[int, int]]:
        """(before, after) zeros per spatial axis that make this layer a 'valid' one (tf.keras 'same')."""
        if self.padding == "valid":
            return [(0, 0)] * self.rank
        pads = []
        for n, k, s in zip(spatial, self.kernel_size, self.strides):
            out = -(-n // s)
            pads.append((k // 2, max((out - 1) * s + k - k // 2 - n, 0)))
        return pads


    def weight_shapes(self, in_shapes):
        out = self.out_spatial(in_shapes[0])
        cin = self.in_channels(in_shapes[0])
        positions = None if None in out else int(np.prod(out))
        patch = None if cin is None else int(np.prod(self.kernel_size)) * cin
        shapes = {"kernel": (positions, patch, self.filters)}
        if self.use_bias:
            shapes["bias"] = (*out, self.filters)
        return shapes

    def output_shapes(self, in_shapes):
        out = self.out_spatial(in_shapes[0])
        batch = in_shapes[0][0]
        if self.data_format == "channels_first":
            return [(batch, self.filters, *out)]
        return [(batch, *out, self.filters)]

    def static_sizes(self, shape, layer: str = "") -> tuple[tuple, int]:
        """(input spatial sizes, input channels), refusing unknown sizes as Keras does."""
        spatial, cin = self.spatial(shape), self.in_channels(shape)
        if None in spatial or cin is None:
            raise UnsupportedLayerError(f"{self.kind} needs a fully known input shape, got {tuple(shape)}",
                                        layer=layer or None, hint="give the model input a fixed size")
        return spatial, cin

    # ---- weights --------------------------------------------------------------
    def load_weights(self, items: list, in_shapes) -> list:
        """Converts tf.keras implementation 2 / 3 kernels to implementation 1's layout."""
        if self.implementation == 1 or not items:
            return items
        spatial, cin = self.static_sizes(in_shapes[0])
        name, kernel = items[0]
        if self.implementation == 2:
            kernel = self._from_masked(np.asarray(kernel), spatial, cin)
        else:
            kernel = self._from_sparse(np.asarray(kernel), spatial, cin)
        return [(name, kernel)] + list(items[1:])

    def _windows(self, spatial) -> list[tuple[tuple, tuple]]:
        """(output position, window slices of the padded input) for every output position, row-major."""
        out = self.out_spatial_of(spatial)
        return [(pos, tuple(slice(p * s, p * s + k) for p, k, s in zip(pos, self.kernel_size, self.strides)))
                for pos in itertools.product(*(range(o) for o in out))]

    def out_spatial_of(self, spatial) -> tuple:
        return tuple(-(-n // s) if self.padding == "same" else (n - k) // s + 1
                     for n, k, s in zip(spatial, self.kernel_size, self.strides))

    def _from_masked(self, kernel: np.ndarray, spatial, cin) -> np.ndarray:
        # channels_last (*in, C, *out, F); channels_first (C, *in, F, *out); padded cells get zero rows
        first = 1 if self.data_format == "channels_first" else 0
        widths = [(0, 0)] * kernel.ndim
        for d, pad in enumerate(self.pads(spatial)):
            widths[first + d] = pad
        kernel = np.pad(kernel, widths)
        rows = []
        for pos, window in self._windows(spatial):
            if self.data_format == "channels_last":
                block = kernel[window + (slice(None),) + pos]  # (*k, C, F)
            else:
                block = kernel[(slice(None),) + window + (slice(None),) + pos]  # (C, *k, F)
            rows.append(block.reshape(-1, block.shape[-1]))
        return np.ascontiguousarray(np.stack(rows))

    def _from_sparse(self, values: np.ndarray, spatial, cin) -> np.ndarray:
        # the dense (out_flat, in_flat) matrix holds `values` at the sorted (output, input) index pairs
        dense = np.zeros((self._flat_out_size(spatial), int(np.prod(spatial)) * cin), dtype=values.dtype)
        pairs = sorted(self._kernel_index_pairs(spatial, cin))
        if len(pairs) != values.size:
            raise WeightError(f"{self.kind} implementation 3 kernel has {values.size} values, "
                              f"the layer has {len(pairs)} connections")
        o_idx, i_idx = np.array(pairs).T
        dense[o_idx, i_idx] = values.reshape(-1)
        in_axes = (*spatial, cin) if self.data_format == "channels_last" else (cin, *spatial)
        out = self.out_spatial_of(spatial)
        out_axes = (*out, self.filters) if self.data_format == "channels_last" else (self.filters, *out)
        # as implementation 2's kernel: input axes, then output axes
        masked = dense.T.reshape(*in_axes, *out_axes)
        return self._from_masked(masked, spatial, cin)

    def _flat_out_size(self, spatial) -> int:
        return int(np.prod(self.out_spatial_of(spatial))) * self.filters

    def _kernel_index_pairs(self, spatial, cin):
        out = self.out_spatial_of(spatial)
        cl = self.data_format == "channels_last"
        in_dims = (*spatial, cin) if cl else (cin, *spatial)
        out_dims = (*out, self.filters) if cl else (self.filters, *out)
        before = [b for b, _ in self.pads(spatial)]
        for pos, window in self._windows(spatial):
            # window cells on the padding connect to nothing
            taps = itertools.product(*(range(max(w.start - b, 0), min(w.stop - b, n))
                                       for w, b, n in zip(window, before, spatial)))
            for tap in taps:
                for c in range(cin):
                    i = np.ravel_multi_index((*tap, c) if cl else (c, *tap), in_dims)
                    for f in range(self.filters):
                        o = np.ravel_multi_index((*pos, f) if cl else (f, *pos), out_dims)
                        yield int(o), int(i)

    def bias_channels_last(self, bias: np.ndarray) -> np.ndarray:
        """The bias as (*out, filters) values per output position and filter (undoes Keras's raw reshape)."""
        if self.data_format == "channels_last":
            return bias
        flat = bias.reshape(self.filters, -1)  # Keras reads the stored array as (filters, *out)
        return np.ascontiguousarray(flat.T.reshape(bias.shape))

    def channels_last_weights(self, weights: dict) -> dict:
        """The weights of the same layer with data_format='channels_last' (for the layout pass)."""
        kernel = weights["kernel"]
        positions, patch, filters = kernel.shape
        taps = int(np.prod(self.kernel_size))
        cin = patch // taps
        moved = kernel.reshape(positions, cin, taps, filters).transpose(0, 2, 1, 3).reshape(kernel.shape)
        out = {"kernel": np.ascontiguousarray(moved)}
        if "bias" in weights:
            out["bias"] = self.bias_channels_last(weights["bias"])
        return out

    # ---- numpy ------------------------------------------------------------------
    def patches(self, x: np.ndarray) -> np.ndarray:
        """(N, positions, patch) patches of a Keras-layout input, rows in the kernel's order."""
        r = self.rank
        xl = np.moveaxis(x, 1, -1) if self.data_format == "channels_first" else x
        xl = np.pad(xl, [(0, 0), *self.pads(xl.shape[1:-1]), (0, 0)])
        view = np.lib.stride_tricks.sliding_window_view(xl, self.kernel_size, axis=tuple(range(1, r + 1)))
        view = view[(slice(None),) + tuple(slice(None, None, s) for s in self.strides)]  # (N, *out, C, *k)
        if self.data_format == "channels_last":
            view = np.moveaxis(view, r + 1, -1)  # (N, *out, *k, C)
        n, out = view.shape[0], view.shape[1:r + 1]
        return view.reshape(n, int(np.prod(out)), -1), out

    def reference(self, xs, w):
        x = xs[0]
        patches, out = self.patches(x)
        y = np.einsum("npk,pkf->npf", patches.astype(np.float32), w["kernel"].astype(np.float32))
        y = y.reshape(x.shape[0], *out, self.filters)
        if self.use_bias:
            y = y + self.bias_channels_last(w["bias"]).astype(np.float32)
        if self.data_format == "channels_first":
            y = np.moveaxis(y, -1, 1)
        return [activation_fns.apply(self.activation, y).astype(x.dtype, copy=False)]

    # ---- ONNX -------------------------------------------------------------------
    def one_hot_kernel(self, cin: int) -> np.ndarray:
        """A (*kernel_size, C, patch) kernel whose convolution copies each patch in the kernel's row order."""
        taps = int(np.prod(self.kernel_size))
        onehot = np.zeros((taps, cin, taps * cin), np.float32)
        for t in range(taps):
            for c in range(cin):
                row = t * cin + c if self.data_format == "channels_last" else c * taps + t
                onehot[t, c, row] = 1.0
        return onehot.reshape(*self.kernel_size, cin, taps * cin)

    def to_onnx(self, g, xs, w, node):
        from kport.ops.conv_common import kernel_to_oihw

        r = self.rank
        spatial, cin = self.static_sizes(node.in_shapes[0], node.layer)
        out = self.out_spatial(node.in_shapes[0])
        positions, patch = int(np.prod(out)), int(np.prod(self.kernel_size)) * cin
        x = xs[0]
        if self.data_format == "channels_last":
            x = g.op("Transpose", [x], perm=[0, r + 1, *range(1, r + 1)])
        onehot = g.const(kernel_to_oihw(self.one_hot_kernel(cin)), f"{node.layer}/patches")
        pads = self.pads(spatial)
        cols = g.op("Conv", [x, onehot], kernel_shape=list(self.kernel_size), strides=list(self.strides),
                    pads=[b for b, _ in pads] + [a for _, a in pads])
        cols = g.op("Reshape", [cols, g.ints([0, patch, positions])])  # (N, patch, P)
        cols = g.op("Transpose", [cols], perm=[2, 0, 1])  # (P, N, patch)
        kernel = g.const(w["kernel"].astype(np.float32), f"{node.layer}/kernel")
        y = g.op("Transpose", [g.op("MatMul", [cols, kernel])], perm=[1, 0, 2])  # (N, P, F)
        if self.use_bias:
            bias = self.bias_channels_last(w["bias"]).reshape(positions, self.filters).astype(np.float32)
            y = g.op("Add", [y, g.const(bias, f"{node.layer}/bias")])
        if self.data_format == "channels_first":
            y = g.op("Transpose", [y], perm=[0, 2, 1])
            y = g.op("Reshape", [y, g.ints([0, self.filters, *out])])
        else:
            y = g.op("Reshape", [y, g.ints([0, *out, self.filters])])
        return [activation_fns.to_onnx(g, self.activation, y)]

    # ---- PyTorch ------------------------------------------------------------------
    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.activations import to_torch as activation
        from kport.exporters.torch.emitter import ParamSpec

        r = self.rank
        spatial, cin = self.static_sizes(node.in_shapes[0], node.layer)
        out = self.out_spatial(node.in_shapes[0])
        positions, patch = int(np.prod(out)), int(np.prod(self.kernel_size)) * cin
        t.helper("KerasLocallyConnected", TORCH_LOCALLY_CONNECTED)
        params = {"kernel": ParamSpec("kernel")}
        if self.use_bias:
            params["bias"] = ParamSpec("bias")
        cf = self.data_format == "channels_first"
        m = t.submodule(f"KerasLocallyConnected({positions}, {patch}, {self.filters}, "
                        f"{list(w['bias'].shape) if self.use_bias else []}, {cf})", w, params)
        x = xs[0] if cf else t.line(f"{xs[0]}.permute({', '.join(map(str, [0, r + 1, *range(1, r + 1)]))})")
        pads = self.pads(spatial)
        if any(b or a for b, a in pads):
            x = t.line(f"F.pad({x}, {[v for p in reversed(pads) for v in p]})")  # F.pad lists the last axis first
        for d, (k, s) in enumerate(zip(self.kernel_size, self.strides)):
            x = t.line(f"{x}.unfold({2 + d}, {k}, {s})")  # ends as (N, C, *out, *k)
        order = [0, *range(2, r + 2), 1, *range(r + 2, 2 * r + 2)] if cf else \
            [0, *range(2, r + 2), *range(r + 2, 2 * r + 2), 1]
        x = t.line(f"{x}.permute({', '.join(map(str, order))}).reshape(-1, {positions}, {patch})")
        y = t.line(f"{m}({x})")  # (N, P, F)
        if cf:
            y = t.line(f"{y}.transpose(1, 2).reshape(-1, {self.filters}, {', '.join(map(str, out))})")
        else:
            y = t.line(f"{y}.reshape(-1, {', '.join(map(str, out))}, {self.filters})")
        return [activation(t, self.activation, y)]

    # ---- Keras 3 -------------------------------------------------------------------
    def keras_construction(self, flavor: str, in_shape, weights: dict) -> list | None:
        """The layer as built-in layers where the flavor cannot write it as it is.

        tf.keras: 'same' (implementations 2/3 only there) is written as ZeroPadding and a
        'valid' layer with the same weights; 'valid' as the layer itself (None).
        Keras 3 has no LocallyConnected layer: [Permute to channels_last,] [ZeroPadding,] a Conv
        with a one-hot kernel copying every patch, Reshape to one row, a Conv1D with one group
        per output position (a block-diagonal matmul: position p's kernel and bias), Reshape to
        (*out, filters), [Permute back to channels_first,] [Activation].

        Returns:
            steps (kind, attributes, weights), or None when the layer is written as it is.
        """
        r = self.rank
        spatial, cin = self.static_sizes(in_shape)
        pads = self.pads(spatial)
        padding = [] if self.padding == "valid" else [(f"ZeroPadding{r}D", {"padding": tuple(pads)}, {})]
        cf = self.data_format == "channels_first"
        to_last = ("Permute", {"dims": (*range(2, r + 2), 1)}, {})
        to_first = ("Permute", {"dims": (r + 1, *range(1, r + 1))}, {})
        if flavor != "keras3":
            if not padding:
                return None
            valid = {**self.attributes(), "padding": "valid", "implementation": 1}
            if cf and r == 1:  # tf.keras ZeroPadding1D pads channels_last tensors only
                return [to_last, *padding, to_first, (self.kind, valid, weights)]
            padding[0][1]["data_format"] = self.data_format
            return [*padding, (self.kind, valid, weights)]
        out = self.out_spatial(in_shape)
        positions, patch = int(np.prod(out)), int(np.prod(self.kernel_size)) * cin
        steps = [to_last] if cf else []
        steps += padding
        steps.append((f"Conv{r}D", {"filters": patch, "kernel_size": self.kernel_size, "strides": self.strides,
                                    "use_bias": False}, {"kernel": self.one_hot_kernel(cin)}))
        steps.append(("Reshape", {"target_shape": (1, positions * patch)}, {}))
        kernel = np.ascontiguousarray(weights["kernel"].transpose(1, 0, 2).reshape(1, patch, positions * self.filters))
        local = {"kernel": kernel.astype(np.float32)}
        if self.use_bias:
            local["bias"] = self.bias_channels_last(weights["bias"]).reshape(-1).astype(np.float32)
        steps.append(("Conv1D", {"filters": positions * self.filters, "kernel_size": (1,), "groups": positions,
                                 "use_bias": self.use_bias}, local))
        steps.append(("Reshape", {"target_shape": (*out, self.filters)}, {}))
        if cf:
            steps.append(to_first)
        if self.activation != "linear":
            steps.append(("Activation", {"activation": self.activation}, {}))
        return steps


# weights as Keras implementation 1 holds them; the caller extracts the patches (N, P, patch)
TORCH_LOCALLY_CONNECTED = '''
class KerasLocallyConnected(nn.Module):
    """Keras LocallyConnected: one (patch, filters) kernel per output position; bias in Keras's layout."""

    def __init__(self, positions: int, patch: int, filters: int, bias_shape: list[int], channels_first: bool):
        super().__init__()
        self.filters = filters
        self.channels_first = channels_first
        self.kernel = nn.Parameter(torch.zeros(positions, patch, filters))
        self.bias = nn.Parameter(torch.zeros(bias_shape)) if bias_shape else None

    def forward(self, patches):
        y = torch.einsum("npk,pkf->npf", patches, self.kernel)
        bias = self.bias
        if bias is not None:
            # Keras adds a channels_first bias after a raw reshape to (filters, *out)
            b = bias.reshape(self.filters, -1).t() if self.channels_first else bias.reshape(-1, self.filters)
            y = y + b
        return y
'''
