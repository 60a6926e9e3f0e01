"""The convolution families: Conv, DepthwiseConv, SeparableConv and ConvTranspose (any rank).

Each class holds the attributes, weights, shape rule, numpy reference and the
ONNX and PyTorch hooks of its family; the per-kind files (`conv2d.py`, ...)
fix the rank and the Keras class names. Shared arithmetic lives in conv_common.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import UnsupportedLayerError
from kport.ops.base import as_tuple
from kport.ops.conv_common import (ConvBase, check_filters_groups, const_bias, conv_nd, depthwise_as_grouped,
                                   effective_kernel, kernel_to_oihw, make_shape, spatial_dims, tap_view,
                                   to_channels_last, torch_from_nchw, torch_kernel_layout, torch_to_nchw,
                                   transpose_crop, transpose_output_length)
from kport.ops.lora import merge_lora


@dataclass
class ConvND(ConvBase):
    """Conv1D/2D/3D: cross-correlation with groups; kernel (*k, in // groups, filters)."""

    filters: int = 1
    groups: int = 1
    # Keras 3 LoRA: a legacy .h5 stores the low-rank factors beside the kernel; they are merged on load
    lora_rank: int | None = None
    lora_alpha: float | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.padding == "causal" and self.rank != 1:
            raise UnsupportedLayerError(f"{self.kind} does not support padding='causal'",
                                        hint="causal padding exists for Conv1D only")
        check_filters_groups(self.filters, self.groups, self.kind)

    def keras_config(self, flavor: str = "keras3") -> dict:
        # kernels are held merged, so the written layer needs no LoRA
        config = super().keras_config(flavor)
        config.pop("lora_rank")
        config.pop("lora_alpha")
        return config

    def keras_construction(self, flavor: str, in_shape, weights: dict) -> list | None:
        """Keras 1 padding='full' has no Keras 2/3 spelling: ZeroPadding (k_eff - 1 each side), then 'valid'."""
        if self.padding != "full":
            return None
        pads = [(effective_kernel(k, d) - 1,) * 2 for k, d in zip(self.kernel_size, self.dilation_rate)]
        conv = {**self.attributes(), "padding": "valid"}
        return [(f"ZeroPadding{self.rank}D", {"padding": tuple(pads), "data_format": self.data_format}, {}),
                (self.kind, conv, weights)]

    def load_weights(self, items: list, in_shapes) -> list:
        """Merges Keras 3 LoRA factors into the kernel, as Keras does when it saves a .keras file."""
        return merge_lora(items, "kernel", self.lora_rank, self.lora_alpha)

    def weight_shapes(self, in_shapes):
        cin = self.in_channels(in_shapes[0])
        shapes = {"kernel": (*self.kernel_size, None if cin is None else cin // self.groups, self.filters)}
        if self.use_bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def output_shapes(self, in_shapes):
        self.check_input(in_shapes[0])
        return [make_shape(in_shapes[0][0], self.conv_out_spatial(in_shapes[0]), self.filters, self.data_format)]

    def reference(self, xs, w):
        x = to_channels_last(xs[0], self.data_format)
        pads = self.pads_for(x.shape[1:-1])
        y = conv_nd(x, w["kernel"], self.strides, self.dilation_rate, pads, self.groups)
        return [self.finish(y, w)]

    def to_onnx(self, g, xs, w, node):
        spatial = spatial_dims(node.in_shapes[0], self.data_format)
        kernel = g.const(kernel_to_oihw(w["kernel"]), f"{node.layer}/kernel")
        x, attrs = self.onnx_conv_input(g, self.onnx_in(g, xs[0]), spatial)
        y = g.op("Conv", [x, kernel, *const_bias(g, self, w, node)], group=self.groups, **attrs)
        return [self.onnx_out(g, y)]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        cin = self.in_channels(node.in_shapes[0])
        params = {"weight": ParamSpec("kernel", torch_kernel_layout(self.rank))}
        if self.use_bias:
            params["bias"] = ParamSpec("bias")
        m = t.submodule(_torch_conv_module(self.rank, cin, self.filters, self, self.groups, self.use_bias), w,
                        params)
        return [_torch_finish(self, t, t.line(f"{m}({self.torch_padded_input(t, xs[0], node)})"))]


@dataclass
class DepthwiseConvND(ConvBase):
    """DepthwiseConv1D/2D: one kernel per input channel; kernel (*k, in, depth_multiplier)."""

    depth_multiplier: int = 1

    def weight_shapes(self, in_shapes):
        cin = self.in_channels(in_shapes[0])
        shapes = {"depthwise_kernel": (*self.kernel_size, cin, self.depth_multiplier)}
        if self.use_bias:
            shapes["bias"] = (None if cin is None else cin * self.depth_multiplier,)
        return shapes

    def output_shapes(self, in_shapes):
        self.check_input(in_shapes[0])
        cin = self.in_channels(in_shapes[0])
        out_c = None if cin is None else cin * self.depth_multiplier
        return [make_shape(in_shapes[0][0], self.conv_out_spatial(in_shapes[0]), out_c, self.data_format)]

    def depthwise(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """The depthwise stage on a channels_last array."""
        pads = self.pads_for(x.shape[1:-1])
        return conv_nd(x, depthwise_as_grouped(kernel), self.strides, self.dilation_rate, pads, x.shape[-1])

    def onnx_depthwise(self, g, x_nchw: str, w: dict, node, bias: list[str]) -> str:
        """The depthwise stage as an ONNX grouped Conv on an NC* tensor."""
        kernel = w["depthwise_kernel"]
        weight = g.const(kernel_to_oihw(depthwise_as_grouped(kernel)), f"{node.layer}/depthwise_kernel")
        x, attrs = self.onnx_conv_input(g, x_nchw, spatial_dims(node.in_shapes[0], self.data_format))
        return g.op("Conv", [x, weight, *bias], group=int(kernel.shape[-2]), **attrs)

    def reference(self, xs, w):
        x = to_channels_last(xs[0], self.data_format)
        return [self.finish(self.depthwise(x, w["depthwise_kernel"]), w)]

    def to_onnx(self, g, xs, w, node):
        y = self.onnx_depthwise(g, self.onnx_in(g, xs[0]), w, node, const_bias(g, self, w, node))
        return [self.onnx_out(g, y)]

    def torch_depthwise(self, t, x: str, w: dict, node, bias: bool, suffix: str = "") -> str:
        """The depthwise stage as a grouped torch Conv on the padded NC* input."""
        from kport.exporters.torch.emitter import ParamSpec

        cin = self.in_channels(node.in_shapes[0])
        params = {"weight": ParamSpec("depthwise_kernel", DepthwiseTorchLayout(self.depth_multiplier, self.rank))}
        if bias:
            params["bias"] = ParamSpec("bias")
        code = _torch_conv_module(self.rank, cin, cin * self.depth_multiplier, self, cin, bias)
        m = t.submodule(code, w, params, suffix=suffix)
        return t.line(f"{m}({self.torch_padded_input(t, x, node)})")

    def to_torch(self, t, xs, w, node):
        return [_torch_finish(self, t, self.torch_depthwise(t, xs[0], w, node, self.use_bias))]


@dataclass
class SeparableConvND(DepthwiseConvND):
    """SeparableConv1D/2D: depthwise stage, then a 1x1 conv to `filters`, then bias."""

    filters: int = 1

    def weight_shapes(self, in_shapes):
        cin = self.in_channels(in_shapes[0])
        mid = None if cin is None else cin * self.depth_multiplier
        shapes = {"depthwise_kernel": (*self.kernel_size, cin, self.depth_multiplier),
                  "pointwise_kernel": (*(1,) * self.rank, mid, self.filters)}
        if self.use_bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def output_shapes(self, in_shapes):
        self.check_input(in_shapes[0])
        return [make_shape(in_shapes[0][0], self.conv_out_spatial(in_shapes[0]), self.filters, self.data_format)]

    def reference(self, xs, w):
        x = to_channels_last(xs[0], self.data_format)
        mid = self.depthwise(x, w["depthwise_kernel"])
        pointwise = w["pointwise_kernel"]
        flat = mid.reshape(-1, mid.shape[-1]) @ pointwise.reshape(pointwise.shape[-2:])
        y = flat.reshape(*mid.shape[:-1], -1).astype(x.dtype, copy=False)
        return [self.finish(y, w)]

    def to_onnx(self, g, xs, w, node):
        mid = self.onnx_depthwise(g, self.onnx_in(g, xs[0]), w, node, [])
        pointwise = g.const(kernel_to_oihw(w["pointwise_kernel"]), f"{node.layer}/pointwise_kernel")
        y = g.op("Conv", [mid, pointwise, *const_bias(g, self, w, node)], kernel_shape=[1] * self.rank)
        return [self.onnx_out(g, y)]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        mid = self.torch_depthwise(t, xs[0], w, node, bias=False, suffix="_depthwise")
        params = {"weight": ParamSpec("pointwise_kernel", torch_kernel_layout(self.rank))}
        if self.use_bias:
            params["bias"] = ParamSpec("bias")
        cmid = self.in_channels(node.in_shapes[0]) * self.depth_multiplier
        code = _torch_conv_module(self.rank, cmid, self.filters, self, 1, self.use_bias, kernel=(1,) * self.rank)
        m = t.submodule(code, w, params, suffix="_pointwise")
        return [_torch_finish(self, t, t.line(f"{m}({mid})"))]


@dataclass
class ConvTransposeND(ConvBase):
    """Conv1D/2D/3DTranspose: the gradient of a conv; kernel (*k, filters, in)."""

    filters: int = 1
    output_padding: tuple[int, ...] | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.output_padding is not None:
            self.output_padding = as_tuple(self.output_padding, self.rank)

    def out_pads(self) -> tuple:
        return self.output_padding if self.output_padding is not None else (None,) * self.rank

    def weight_shapes(self, in_shapes):
        shapes = {"kernel": (*self.kernel_size, self.filters, self.in_channels(in_shapes[0]))}
        if self.use_bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def output_shapes(self, in_shapes):
        self.check_input(in_shapes[0])
        spatial = tuple(transpose_output_length(n, k, s, d, self.padding, op) for n, k, s, d, op in
                        zip(spatial_dims(in_shapes[0], self.data_format), self.kernel_size, self.strides,
                            self.dilation_rate, self.out_pads()))
        return [make_shape(in_shapes[0][0], spatial, self.filters, self.data_format)]

    def crops(self, spatial) -> list[tuple[int, int]]:
        return [transpose_crop(n, k, s, d, self.padding, op) for n, k, s, d, op in
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate, self.out_pads())]

    def reference(self, xs, w):
        x = to_channels_last(xs[0], self.data_format)
        kernel = w["kernel"]
        n_in = x.shape[1:-1]
        full = tuple((n - 1) * s + effective_kernel(k, d)
                     for n, k, s, d in zip(n_in, self.kernel_size, self.strides, self.dilation_rate))
        y = np.zeros((x.shape[0], *full, self.filters), dtype=np.promote_types(x.dtype, np.float32))
        x2 = x.reshape(-1, x.shape[-1])  # one 2-D product per tap (numpy's stacked matmul is slow)
        for tap in np.ndindex(*self.kernel_size):
            # each input cell scatters kernel[tap] to the output cell it reaches through this tap
            view = tap_view(y, tap, n_in, self.strides, self.dilation_rate)
            view += (x2 @ kernel[tap].T).reshape(view.shape)
        index = [slice(None)]
        append = [(0, 0)]
        for (begin, end), length in zip(self.crops(n_in), full):
            index.append(slice(begin, length - max(end, 0)))
            append.append((0, max(-end, 0)))
        y = np.pad(y[tuple(index + [slice(None)])], append + [(0, 0)]).astype(x.dtype, copy=False)
        return [self.finish(y, w)]

    def to_onnx(self, g, xs, w, node):
        # ONNX ConvTranspose weight is (in, out, *k)
        r = self.rank
        weight = np.ascontiguousarray(np.transpose(w["kernel"], (r + 1, r, *range(r))).astype(np.float32))
        crops = self.crops(spatial_dims(node.in_shapes[0], self.data_format))
        y = g.op("ConvTranspose", [self.onnx_in(g, xs[0]), g.const(weight, f"{node.layer}/kernel"),
                                   *const_bias(g, self, w, node)],
                 kernel_shape=list(self.kernel_size), strides=list(self.strides),
                 dilations=list(self.dilation_rate),
                 pads=[b for b, _ in crops] + [max(e, 0) for _, e in crops],
                 output_padding=[max(-e, 0) for _, e in crops])
        return [self.onnx_out(g, y)]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        params = {"weight": ParamSpec("kernel", torch_kernel_layout(self.rank))}
        if self.use_bias:
            params["bias"] = ParamSpec("bias")
        crops = self.crops(spatial_dims(node.in_shapes[0], self.data_format))
        code = _torch_conv_module(self.rank, self.in_channels(node.in_shapes[0]), self.filters, self, 1,
                                  self.use_bias, transpose=True, output_padding=[max(-e, 0) for _, e in crops])
        m = t.submodule(code, w, params)
        x = torch_to_nchw(t, xs[0], self.rank) if self.data_format == "channels_last" else xs[0]
        y = t.line(f"{m}({x})")
        if any(b or e > 0 for b, e in crops):  # cut the full result to the Keras window
            index = ", ".join([":", ":"] + [f"{b}:{-e if e > 0 else ''}" for b, e in crops])
            y = t.line(f"{y}[{index}]")
        return [_torch_finish(self, t, y)]


# ---- PyTorch ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DepthwiseTorchLayout:
    """Keras depthwise kernel (*k, C, M) <-> torch grouped Conv weight (C*M, 1, *k)."""

    multiplier: int
    rank: int

    def to_torch(self, a: np.ndarray) -> np.ndarray:
        grouped = depthwise_as_grouped(a)
        return np.ascontiguousarray(np.transpose(grouped, (self.rank + 1, self.rank, *range(self.rank))))

    def to_keras(self, a: np.ndarray) -> np.ndarray:
        grouped = np.transpose(a, (*range(2, self.rank + 2), 1, 0))
        return np.ascontiguousarray(grouped.reshape(*grouped.shape[:-2], -1, self.multiplier))


def _torch_conv_module(rank: int, cin: int, cout: int, op, groups: int, bias: bool, kernel=None,
                       transpose: bool = False, output_padding=None) -> str:
    pointwise = kernel is not None  # SeparableConv's 1x1 stage: no stride or dilation of its own
    kernel = op.kernel_size if kernel is None else kernel
    kind = "ConvTranspose" if transpose else "Conv"
    args = [str(cin), str(cout), f"kernel_size={tuple(kernel)}"]
    if not pointwise and any(v != 1 for v in (*op.strides, *op.dilation_rate)):
        args += [f"stride={tuple(op.strides)}", f"dilation={tuple(op.dilation_rate)}"]
    if output_padding and any(output_padding):
        args.append(f"output_padding={tuple(output_padding)}")
    if groups != 1:
        args.append(f"groups={groups}")
    args.append(f"bias={bias}")
    return f"nn.{kind}{rank}d({', '.join(args)})"


def _torch_finish(op, t, y: str) -> str:
    """NC* result -> Keras layout -> activation (Keras applies it on its own layout)."""
    from kport.exporters.torch.activations import to_torch as activation

    if op.data_format == "channels_last":
        y = torch_from_nchw(t, y, op.rank)
    return activation(t, op.activation, y)
