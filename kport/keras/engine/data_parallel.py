"""`multi_gpu_model`: data-parallel training over several GPUs with `torch.nn.DataParallel`.

Each batch is split along the batch axis over the GPUs; every GPU runs the whole
graph on its slice with a replica of the layers' torch modules; the outputs are
gathered on the first GPU, where the loss, the gradients (summed back into the
original parameters by DataParallel's broadcast) and the Keras optimizer update
run. The parallel model shares its layers with the template model, so saving the
template saves the trained weights (as with Keras's multi_gpu_model).

The graph walk is the engine's own Python code, so a replica cannot simply be
called: while a replica runs (one thread per GPU), a thread-local table maps each
original module to its replica, and op layers look their module up through it.
"""
from __future__ import annotations

import functools
import threading

_LOCAL = threading.local()


def replica(module):
    """The module to run in this thread: its replica inside a data-parallel forward, else itself."""
    table = getattr(_LOCAL, "table", None)
    return module if table is None else table.get(id(module), module)


def multi_gpu_model(model, gpus=None, cpu_merge: bool = True, cpu_relocation: bool = False):
    """A model sharing `model`'s layers that trains and predicts data-parallel over several GPUs.

    Args:
        model: a functional or Sequential kport.keras model whose layers are all op layers (built-in
            Keras layers); custom layers with their own weights are not replicated.
        gpus: the number of GPUs (>= 2) or a list of CUDA device indices; None: every GPU present.
        cpu_merge, cpu_relocation: accepted for Keras compatibility; the weights live on the first GPU.

    Returns:
        The parallel model: compile and fit it; save the template `model`.

    Raises:
        ValueError: fewer than 2 GPUs asked for, or fewer present than asked for, or a model the
            parallel wrapper cannot replicate.
    """
    import torch

    _check_replicable(model)
    present = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus is None:
        ids = list(range(present))
    elif isinstance(gpus, int):
        ids = list(range(gpus))
    else:
        ids = [int(g) for g in gpus]
    if len(ids) < 2:
        raise ValueError(f"multi_gpu_model needs at least 2 GPUs (gpus={gpus!r}, {present} present); for one GPU "
                         "train the model itself: it runs on CUDA when available (keras.backend.set_device)")
    if max(ids) >= present:
        raise ValueError(f"multi_gpu_model(gpus={gpus!r}) needs CUDA GPUs {ids}, but this machine has {present} "
                         "visible to torch: ask for fewer GPUs, or train the model itself on one device")
    parallel = _parallel_class()(model.inputs, model.outputs, name=f"{model.name}_parallel")
    parallel._device_ids = ids
    parallel.to(f"cuda:{ids[0]}")
    return parallel


def _check_replicable(model) -> None:
    """Refuses models DataParallel cannot split (checked before the GPUs, so the reason shows anywhere)."""
    if not getattr(model, "_is_graph_network", False):
        raise ValueError("multi_gpu_model needs a functional or Sequential model (a subclassed model's call "
                         "cannot be replicated); build the model with Input and layers")
    own = [layer.name for layer in model.all_layers() if not hasattr(layer, "op") and
           not getattr(layer, "_is_graph_network", False) and layer.weights]
    if own:
        raise ValueError(f"multi_gpu_model cannot replicate custom layers with their own weights ({own}): "
                         "torch.nn.DataParallel replicates modules, and these weights live outside them")
    carrying = [layer.name for layer in model.all_layers() if getattr(layer, "stateful", False)]
    if carrying:
        raise ValueError(f"multi_gpu_model cannot split stateful layers {carrying} over GPUs (their states follow "
                         "the samples of whole batches); train the model itself on one device")


def _graph_module(model):
    """A torch Module holding every op-layer module of `model` (what DataParallel replicates)."""
    import torch

    class GraphModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            originals = []
            for layer in model.all_layers():
                for module in getattr(layer, "_modules", {}).values():
                    if all(m is not module for m in originals):
                        originals.append(module)
            self.parts = torch.nn.ModuleList(originals)
            self.originals = tuple(originals)  # a tuple: not registered, shared by the replicas

        def forward(self, *xs, training: bool = False):
            from kport.keras.engine.network import Network

            _LOCAL.table = {id(o): r for o, r in zip(self.originals, self.parts)}
            try:
                return tuple(Network.run_graph(model, list(xs), training))
            finally:
                _LOCAL.table = None

    return GraphModule()


@functools.lru_cache(maxsize=1)
def _parallel_class():
    """The ParallelModel class, made on first use (engine.training imports op layers, which import this file)."""
    from kport.keras.engine.training import Model

    class ParallelModel(Model):
        """A model whose graph runs under torch.nn.DataParallel (made by `multi_gpu_model`)."""

        _device_ids: list = []
        _wrapped = None
        _wrapped_modules = -1  # how many op-layer modules the wrapper replicates

        def run_graph(self, xs: list, training: bool) -> list:
            import torch

            if len(xs[0]) < len(self._device_ids):  # too few samples to split: one GPU
                return super().run_graph(xs, training)
            count = sum(len(getattr(layer, "_modules", {})) for layer in self.all_layers())
            if self._wrapped is None or count != self._wrapped_modules:
                with torch.no_grad():  # compiles every module these inputs need, before replicating them
                    super().run_graph([x[:1] for x in xs], False)
                self._wrapped_modules = sum(len(getattr(layer, "_modules", {})) for layer in self.all_layers())
                self._wrapped = torch.nn.DataParallel(_graph_module(self), device_ids=self._device_ids)
            return list(self._wrapped(*xs, training=training))

    return ParallelModel
