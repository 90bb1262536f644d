"""`python -m modelplane_api`: serve the facade, migrate, bootstrap, or make a JWT key.

`modelplane api run` calls `main(argv)`. Configuration comes from `MODELPLANE_API_*` variables
(docs/api.md); the command line only chooses what to do and where to listen.
"""

from __future__ import annotations

import argparse
import sys

from modelplane_api.logs import configure_logging


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modelplane_api", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve the API with uvicorn (default)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    commands.add_parser("migrate", help="apply database migrations and exit")
    boot = commands.add_parser("bootstrap", help="migrate and create the first admin once")
    boot.add_argument("--admin-email", default="admin@modelplane.local")
    key = commands.add_parser("keygen", help="print a new Ed25519 key-ring entry (JSON)")
    key.add_argument("--kid", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the process exit code."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command or "serve"
    if command == "keygen":
        from modelplane_api.security import generate_jwt_key

        print(generate_jwt_key(args.kid))
        return 0

    from pydantic import ValidationError

    from modelplane_api.settings import Settings, get_settings

    try:
        settings: Settings = get_settings()
    except ValidationError as exc:
        print(f"invalid MODELPLANE_API_* configuration:\n{exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if command == "migrate" or (command == "serve" and args.migrate):
        from modelplane_api.migrate import upgrade

        upgrade(settings.database_url)
        if command == "migrate":
            return 0
    if command == "bootstrap":
        from modelplane_api.bootstrap import bootstrap

        creds = bootstrap(settings.database_url, admin_email=args.admin_email)
        if creds is None:
            print("users exist already; nothing created")
        else:
            print(f"first admin: {creds.email} / {creds.password} (shown once)")
        return 0
    return _serve(settings, args.host, args.port, args.workers)


def _serve(settings: object, host: str, port: int, workers: int) -> int:
    import uvicorn

    from modelplane_api.main import create_app

    if workers > 1:
        uvicorn.run(
            "modelplane_api.asgi:app_from_environment",
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            factory=True,
        )
    else:
        from modelplane_api.settings import Settings

        assert isinstance(settings, Settings)
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
