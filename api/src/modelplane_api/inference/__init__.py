"""The inference proxy: Open Inference Protocol v2 calls to a deployment, through the facade."""
