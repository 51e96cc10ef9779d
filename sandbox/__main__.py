"""``python -m sandbox --port 8811 [--host 127.0.0.1] [--time-scale 60]``: serve the sandbox alone."""

from __future__ import annotations

import argparse
import os
import sys

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.server import make_server


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line, not argparse's usage block: the caller is usually a Procfile or a script.
        self.exit(2, f"sandbox: error: {message}\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = _Parser(prog="python -m sandbox", description="Local emulator of Amazon SP-API and LWA.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8811, help="port (default 8811; 0 = any free port)")
    parser.add_argument(
        "--time-scale",
        type=_positive,
        default=None,
        help="speed-up of quota refill and next-token expiry (default $SANDBOX_TIME_SCALE or 1)",
    )
    args = parser.parse_args(argv)
    if args.time_scale is None:
        # The sandbox stands in for Amazon and shares nothing with sellersync, settings included.
        raw = os.environ.get("SANDBOX_TIME_SCALE", "").strip() or "1"
        try:
            args.time_scale = _positive(raw)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"SANDBOX_TIME_SCALE: {exc}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    app = create_app(SandboxConfig(time_scale=args.time_scale))
    try:
        server = make_server(args.host, args.port, app)
    except OSError as exc:
        print(f"sandbox: error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    print(f"SP-API sandbox listening on http://{host}:{port} (time scale {args.time_scale:g})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
