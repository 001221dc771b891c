"""``python -m moderation.service serve [options]``: the server alone, without the ``moderation`` CLI.

The service does not import the CLI (issue 10: the layers point one way, CLI -> library). The options
are ``moderation serve``'s, with the same defaults; the other commands (keys, posts, retrain, models,
recheck) are ``moderation``'s.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from ..errors import ModerationError
from . import MAX_PROCESSES
from .app import CHANNEL_TIMEOUT, CONNECTION_LIMIT, ServiceConfig, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m moderation.service",
        description="Run the moderation service without the moderation CLI.",
        epilog="keys, posts, retrain, models and recheck are commands of `moderation`.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="serve")
    serve = commands.add_parser("serve", help="Run the service (see `moderation serve --help`).")
    defaults = ServiceConfig()
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--model", dest="model_path", default=None)
    serve.add_argument("--db", default=None)
    serve.add_argument("--threads", type=int, default=32)
    serve.add_argument("--hold-as", choices=("spam", "ham"), default=defaults.hold_as)
    serve.add_argument("--rate", type=float, default=defaults.rate)
    serve.add_argument("--burst", type=int, default=defaults.burst)
    serve.add_argument("--connection-limit", type=int, default=CONNECTION_LIMIT)
    serve.add_argument("--channel-timeout", type=int, default=CHANNEL_TIMEOUT)
    serve.add_argument("--model-cache", type=int, default=8)
    serve.add_argument("--processes", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 1 <= args.processes <= MAX_PROCESSES:
        parser.error(f"--processes: {args.processes} is not in the range 1 to {MAX_PROCESSES}")
    try:
        run(
            args.db,
            model_path=args.model_path,
            config=ServiceConfig(hold_as=args.hold_as, rate=max(args.rate, 0.0), burst=max(args.burst, 1)),
            cache_size=max(args.model_cache, 1),
            host=args.host,
            port=args.port,
            threads=max(args.threads, 1),
            connection_limit=args.connection_limit,
            channel_timeout=args.channel_timeout,
            processes=args.processes,
            announce=lambda line: print(line, file=sys.stderr),
        )
    except ModerationError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (sqlite3.Error, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
