"""Where the engine computes: CUDA when available, CPU otherwise, or what the user chose.

The engine-wide choice (`keras.backend.set_device`) decides where new weights,
torch modules and batches go; `model.to(device)` moves one built model (its
parameters, buffers and optimizer slots) and pins it there. TF32 matmuls and
convolutions are turned off on CUDA: Keras computes in true float32, and
kport's parity tolerances assume it.
"""
from __future__ import annotations

from typing import Any

_CHOSEN: str | None = None  # the user's engine-wide choice; None: CUDA when available
_RESOLVED: Any = None  # torch.device, cached: asked for every batch


def set_device(device: str | None) -> None:
    """Chooses the engine-wide device ('cpu', 'cuda', 'cuda:1'; None: CUDA when available).

    Applies to models built and batches converted from now on; move a built model with `model.to(device)`.

    Raises:
        ValueError: the device name is not a torch device, or names a GPU this machine lacks.
    """
    global _CHOSEN, _RESOLVED
    if device is not None:
        check(device)
    _CHOSEN = None if device is None else str(device)
    _RESOLVED = None


def get_device():
    """The engine-wide torch device."""
    global _RESOLVED
    if _RESOLVED is None:
        import torch

        name = _CHOSEN or ("cuda" if torch.cuda.is_available() else "cpu")
        _RESOLVED = check(name)
    return _RESOLVED


def check(device):
    """`device` as a torch.device; CUDA devices are checked against the GPUs present (and TF32 is turned off).

    Raises:
        ValueError: not a device name, a device kind the engine does not run on, or a missing GPU.
    """
    import torch

    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:<index>'") from err
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"kport.keras runs on 'cpu' or 'cuda' devices, not {resolved.type!r}")
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = 0 if resolved.index is None else resolved.index
        if index >= count:
            raise ValueError(f"device {device!r} asked for GPU {index}, but this machine has {count} CUDA GPU(s) "
                             "visible to torch: use 'cpu' or one of the GPUs present")
        keras_float32()
    return resolved


def keras_float32() -> None:
    """Turns TF32 off: CUDA matmuls and convolutions then round like Keras's float32."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def of(layer) -> Any:
    """The device a layer (or model) computes on: its own pin, else the engine-wide device."""
    pinned = getattr(layer, "_device", None)
    return pinned if pinned is not None else get_device()


def move_parameter(p, device) -> None:
    """Moves a torch Parameter's data in place, keeping the object (optimizer slots are keyed by it)."""
    if p.device != device:
        p.data = p.data.to(device)
        if p.grad is not None:
            p.grad = p.grad.to(device)
