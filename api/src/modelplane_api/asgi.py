"""Factory entry for process managers and multi-worker uvicorn.

`uvicorn --factory modelplane_api.asgi:app_from_environment`: each worker builds its own app
from `MODELPLANE_API_*` variables; nothing is created at import time.
"""

from fastapi import FastAPI

from modelplane_api.main import create_app
from modelplane_api.settings import get_settings


def app_from_environment() -> FastAPI:
    """The facade configured from the environment."""
    return create_app(get_settings())
