"""IR -> ONNX: op hooks emit into a builder; passes tidy layouts; the exporter writes the file."""
