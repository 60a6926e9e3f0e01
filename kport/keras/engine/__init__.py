"""The engine behind kport.keras: layers, symbolic tensors, models, training loops, persistence."""
