"""Entry file for `kopf run` in the rollout tests: the core handlers plus the ModelDeployment
handler (until `startup.register` calls `register_model_deployment` itself)."""

from __future__ import annotations

import kopf

from modelplane_operator.handlers.model_deployment import register_model_deployment
from modelplane_operator.settings import Settings
from modelplane_operator.startup import register

_registry = kopf.get_default_registry()
_config = Settings()
register(_registry, _config)
register_model_deployment(_registry, _config)
