"""Start-up wiring that needs no cluster: which loggers stay quiet."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from modelplane_operator.startup import quiet_http_client_logs


@pytest.fixture
def levels() -> Iterator[None]:
    names = ("", "httpx", "httpcore")
    saved = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("levels")
def test_api_request_lines_are_dropped_unless_debugging() -> None:
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.NOTSET)
    quiet_http_client_logs()
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpcore").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("levels")
def test_api_request_lines_stay_when_debugging() -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.NOTSET)
    quiet_http_client_logs()
    assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
