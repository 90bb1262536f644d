"""The model registry: models, their versions (ONNX uploads and MLflow runs), ModelVersions."""
