"""`python -m modelplane_runtime`: verify the model, then serve it until SIGTERM.

Exit codes: 0 after a graceful shutdown (or a successful `--check`), 2 when the runtime refuses
to start (bad settings, unreachable or wrong artifact, unsafe model, signature mismatch); the
reason is one JSON log line with `event: startup_refused` and a stable `reason`.
uvicorn handles SIGTERM: it stops accepting connections, lets in-flight requests finish (up to
`graceful_timeout_s`), then the app's shutdown drains the batcher and flushes payload logs.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from pydantic import ValidationError
from pydantic_settings import SettingsError

from modelplane_runtime.errors import ModelplaneRuntimeError
from modelplane_runtime.logs import configure_logging

log = logging.getLogger("modelplane_runtime")
EXIT_REFUSED = 2


def _refuse(reason: str, message: str) -> int:
    log.error(
        "the runtime refuses to start",
        extra={"event": "startup_refused", "reason": reason, "error": message},
    )
    return EXIT_REFUSED


def main(argv: list[str] | None = None) -> int:
    """Run the serving runtime; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="modelplane-runtime", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify the artifact and signature, then exit (0 when servable)",
    )
    args = parser.parse_args(argv)
    configure_logging("INFO", None, None)
    from modelplane_runtime.settings import RuntimeSettings

    try:
        settings = RuntimeSettings()
    except (ValidationError, SettingsError) as exc:
        return _refuse("InvalidConfiguration", f"{exc}: {exc.__cause__ or ''}".replace("\n", " "))
    configure_logging(settings.log_level, settings.model_name, settings.model_version)
    from modelplane_runtime.app import create_app, default_upload, load_model

    try:
        model = load_model(settings)
        upload = default_upload(settings)
        app = create_app(settings, model, upload)
    except ModelplaneRuntimeError as exc:
        return _refuse(exc.reason, exc.message)
    log.info(
        "model verified",
        extra={
            "event": "model_loaded",
            "sha256": settings.model_sha256,
            "uri": settings.model_uri,
            "providers": model.providers,
        },
    )
    missing = [p for p in settings.providers if p not in model.providers]
    if missing:  # onnxruntime falls back to CPU silently; say so loudly
        log.warning(
            "execution providers unavailable, running on the others",
            extra={"event": "providers_missing", "missing": missing},
        )
    if args.check:
        return 0
    import uvicorn

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.graceful_timeout_s),
        server_header=False,
        date_header=False,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    # uvicorn handles SIGTERM gracefully, then re-raises it to the handler it found; a no-op
    # handler here makes a graceful shutdown exit 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, lambda *_: None)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
