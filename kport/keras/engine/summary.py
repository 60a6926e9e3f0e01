"""`model.summary()` in Keras 2's layout."""
from __future__ import annotations


def print_summary(model, line_length=None, positions=None, print_fn=None) -> None:
    """Prints the layer table: name (type), output shape, parameter count (and inbound layers)."""
    from kport.keras.engine.sequential import Sequential

    print_fn = print_fn or print
    sequential = isinstance(model, Sequential)
    line_length = line_length or (65 if sequential else 98)
    positions = positions or ([0.45, 0.85, 1.0] if sequential else [0.33, 0.55, 0.67, 1.0])
    positions = [int(line_length * p) if p <= 1 else int(p) for p in positions]
    headers = ["Layer (type)", "Output Shape", "Param #"] + ([] if sequential else ["Connected to"])

    def row(fields):
        line = ""
        for text, stop in zip(fields, positions):
            line = (line + str(text))[:stop].ljust(stop)
        print_fn(line.rstrip())

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    row(headers)
    print_fn("=" * line_length)
    layers = model.layers
    for i, layer in enumerate(layers):
        try:
            shape = layer.output_shape
        except AttributeError:
            shape = "multiple"
        fields = [f"{layer.name} ({type(layer).__name__})", shape, layer.count_params()]
        if not sequential:
            inbound = []
            for node in layer._inbound_nodes[:1]:
                inbound = [f"{t.keras_history[0].name}[{t.keras_history[1]}][{t.keras_history[2]}]"
                           for t in node.inputs]
            fields.append(inbound[0] if inbound else "")
        row(fields)
        for extra in (inbound[1:] if not sequential else []):
            row(["", "", "", extra])
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)
    trainable = sum(int(_size(w)) for w in model.trainable_weights)
    total = model.count_params()
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)


def _size(weight) -> int:
    n = 1
    for s in weight.shape:
        n *= int(s)
    return n
