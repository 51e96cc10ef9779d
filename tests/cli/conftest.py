"""Fixtures of the command's tests: run ``sellersync`` in this process (``cli.__main__.main``)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cli.__main__ import main


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def sellersync(settings, capsys, broker) -> Callable[..., Ran]:
    """``sellersync("users", "list", "--json")``: the exit code and what it printed (stdin: ``stdin=``)."""

    def run(*argv: str, stdin: str = "", settings=settings) -> Ran:
        capsys.readouterr()
        code = main(list(argv), settings=settings, stdin=io.StringIO(stdin))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture
def job() -> Callable[..., object]:
    from tests.web.factory import make_job

    return make_job
