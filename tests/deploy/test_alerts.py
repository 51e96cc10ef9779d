"""deploy/prometheus/alerts.yml: its promtool unit tests pass, every metric it reads is one that
/metrics exposes, and every runbook it names is a step of the README.

promtool comes from Debian's ``prometheus`` package, which .ci/run installs; without it the promtool
test skips locally and fails in CI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import falcon.testing
import pytest
import yaml

from models import utcnow
from services.platform.worker_metrics import METRICS, WorkerMetrics
from services.schedule import state as scheduler_state
from web.app import create_app
from web.config import WebConfig

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus"
CI = os.environ.get("CI") == "true"


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_unit_tests_fire_each_alert_and_spare_the_healthy_series():
    promtool = shutil.which("promtool")
    if promtool is None:
        if CI:
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool is not installed (apt-get install prometheus)")

    # When promtool checks the rules and the example scrape configuration, and runs the rules' tests
    commands = [
        ("check", "rules", "alerts.yml"),
        ("check", "config", "prometheus.example.yml"),
        ("test", "rules", "alerts_test.yml"),
    ]
    runs = [subprocess.run([promtool, *c], cwd=RULES, capture_output=True, text=True) for c in commands]

    # Then all pass, and every alert has a test
    for run in runs:
        assert run.returncode == 0, run.args + [run.stdout, run.stderr]
    tested = set(re.findall(r"alertname: (\w+)", (RULES / "alerts_test.yml").read_text()))
    assert tested == {rule["alert"] for rule in alert_rules()}


def test_every_metric_the_alerts_read_is_exposed_by_metrics(settings, broker, redis_client, producer):
    # Given a scheduler tick and a worker-side observation of every declared metric
    scheduler_state.record_tick(settings, redis_client, utcnow())
    recorder = WorkerMetrics(redis_client, settings)
    for name, metric in METRICS.items():
        labels = dict.fromkeys(metric.labels, "x")
        if metric.is_histogram:
            recorder.observe(name, labels, 1.0)
        else:
            recorder.count(name, labels)
    recorder.flush()
    app = create_app(WebConfig(settings=settings, stats_max_age_seconds=0), producer=producer)

    # When /metrics is scraped
    exposed = falcon.testing.TestClient(app).simulate_get("/metrics").text

    # Then each sellersync_ name in the rules is there
    used = {name for rule in alert_rules() for name in re.findall(r"\bsellersync_\w+", rule["expr"])}
    assert used
    missing = {name for name in used if not re.search(rf"^{name}(\{{| )", exposed, re.M)}
    assert missing == set()


def test_every_alert_names_a_runbook_step_of_the_readme():
    readme = (ROOT / "README.md").read_text()
    for rule in alert_rules():
        runbook = rule["annotations"]["runbook"]
        assert runbook.startswith("README.md#"), rule["alert"]
        assert f'id="{runbook.removeprefix("README.md#")}"' in readme, rule["alert"]
