"""Ground-truth feedback of a deployment: labels and values by request id, for live quality."""
