"""Modelplane serving runtime: one verified ONNX model behind Open Inference Protocol v2 REST.

Entry point `python -m modelplane_runtime` (`__main__.main`). Layers: `rest` (HTTP edge) →
`dataplane` (decisions) → `model` (onnxruntime), with `codecs`/`protocol` for the wire format,
`batching`, `payload_log`, `metrics`, `artifact` and `settings`. See docs/serving-runtime.md.
"""
