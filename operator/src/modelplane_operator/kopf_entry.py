"""Entry file for `kopf run` (and `kopf.testing.KopfRunner`): registers the operator's handlers
on kopf's current default registry with settings from the environment.

kopf executes this file afresh on every run into the registry the caller made current, which is
why registration is a function call here rather than decorators at import time.
"""

from __future__ import annotations

import kopf

from modelplane_operator.settings import Settings
from modelplane_operator.startup import register

register(kopf.get_default_registry(), Settings())
