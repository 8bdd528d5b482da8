"""Running models: the ONNX session factory, device choice and batching."""
