"""What the web app is built from: the process's settings plus the few knobs of the web layer alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.platform.settings import Settings, get_settings

#: The dashboard's page and assets, served as they are (no build step).
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class WebConfig:
    settings: Settings = field(default_factory=get_settings)
    #: Seconds a queue-stats snapshot is served before one web process recomputes it (0: every request).
    stats_max_age_seconds: float = 2.0
    static_dir: Path = STATIC_DIR
