"""Each organization's MLflow workspace behind the facade, for the standard `mlflow` client:
`service` holds the allowlist and forwards, `router` guards, budgets and audits."""
