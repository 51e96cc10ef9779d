"""Read the Procfile: one ``name: command`` a line, as a PaaS (or honcho) reads it."""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")

#: The project's Procfile.
PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """Process type -> shell command, in file order; comments and blank lines are skipped."""
    commands: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise ValueError(f"{path.name}: not a 'name: command' line: {line!r}")
        commands[match.group(1)] = match.group(2)
    return commands
