"""The ``sellersync`` console script (setup.cfg) and ``python -m cli``.

    sellersync users add USER [--email E] [--disabled]     sellersync status JOB | --user USER
    sellersync accounts add USER COUNTRY --seller-id ID    sellersync stats [--watch]
    sellersync enqueue USER… | --all-due [--dry-run]       sellersync failed | retry | cancel
    sellersync capacity [--within 45m]                     sellersync doctor | dev
    sellersync token USER [--ttl 15m]

:func:`main` takes the argument list and, for tests, its own settings and streams; :func:`run` is
the console script: it configures logging (to stderr, warnings and above) and exits with main's code.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import IO, NoReturn

import pymongo.errors
import redis

from cli import jobs, onboarding, operations, tokens, views
from cli.context import Context
from services.platform.errors import (
    AlreadyExistsError,
    InvalidInputError,
    JobStateError,
    SettingsError,
    UnknownAccountError,
    UnknownJobError,
    UnknownUserError,
)
from services.platform.settings import Settings

EXIT_FAILED = 1
EXIT_USAGE = 2

#: Errors of a well-formed request that could not be carried out: exit 1.
FAILED = (UnknownUserError, UnknownJobError, UnknownAccountError, AlreadyExistsError, JobStateError)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its error as one line on stderr (exit 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sellersync", description="Operate sellersync: users, accounts, jobs, capacity."
    )
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="read settings from FILE as well as the environment (which wins); default: ./.env",
    )
    common = ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=ArgumentParser
    )
    onboarding.add_parsers(commands, common)
    jobs.add_parsers(commands, common)
    views.add_parsers(commands, common)
    operations.add_parsers(commands, common)
    tokens.add_parsers(commands, common)
    return parser


def main(
    argv: list[str] | None = None,
    *,
    settings: Settings | None = None,
    stdin: IO[str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        if settings is None:
            settings = _settings(args.env_file)
        ctx = Context(settings, out=out, err=err, stdin=stdin or sys.stdin, json=getattr(args, "json", False))
        return args.run(ctx, args)
    except SettingsError as exc:
        if args.run is operations.doctor_cmd:  # the doctor reports a malformed setting as a finding
            return operations.report_bad_settings(out, exc)
        return _fail(err, str(exc), EXIT_USAGE)
    except InvalidInputError as exc:
        return _fail(err, str(exc), EXIT_USAGE)
    except FAILED as exc:
        return _fail(err, str(exc), EXIT_FAILED)
    except redis.RedisError as exc:
        return _fail(
            err,
            f"Redis: {type(exc).__name__}: {exc} (is REDIS_URL right? try sellersync doctor)",
            EXIT_FAILED,
        )
    except pymongo.errors.PyMongoError as exc:
        return _fail(
            err, f"MongoDB: {type(exc).__name__} (is MONGODB_URI right? try sellersync doctor)", EXIT_FAILED
        )
    except KeyboardInterrupt:
        return 130


def _settings(env_file: str | None) -> Settings:
    """The process's settings; with ``--env-file``, read from that file under the environment."""
    from services.platform.settings import configure, get_settings

    if env_file is None:
        return get_settings()
    if not os.path.isfile(env_file):
        raise InvalidInputError("--env-file", f"no such file: {env_file}")
    # Installed for the whole process: the broker (built when actors is imported) reads them too.
    return configure(Settings.from_env(dotenv_path=env_file))


def _fail(err: IO[str], message: str, code: int) -> int:
    err.write(f"sellersync: {message}\n")
    return code


def run() -> NoReturn:
    from services.platform.logs import configure_logging

    configure_logging("text", logging.WARNING)
    sys.exit(main())


if __name__ == "__main__":
    run()
