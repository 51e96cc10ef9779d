"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The app is served in this process by web.devserver, seeded with job records as workers leave them.
Without chromium or playwright the tests skip locally and fail in CI (tests.support.browser).
``DASHBOARD_SCREENSHOT=docs/dashboard.png`` makes the screenshot test write the README's picture.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from models import JobStatus, User
from services.platform import user_tokens
from tests.support import browser
from tests.support.browser import new_page
from tests.web.factory import TOKEN

#: Markup in a user id (no "/": a user id is one path segment of the API).
EVIL_USER = '<img src=x onerror="window.pwned=1"><script>window.pwned=2'


@pytest.fixture
def page(browser):
    context, page = new_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def sign_in(page, url: str, token: str = TOKEN) -> None:
    browser.sign_in(page, url, token)


def test_the_dashboard_shows_jobs_and_retries_a_failed_one(page, dashboard, make_user, job):
    # Given a completed job, a failed one and a job of a user whose id is markup
    make_user("u-done")
    make_user("u-broken")
    make_user(EVIL_USER)
    done = job(
        "u-done", "completed", minutes_ago=3, accounts=[("na", "US", "completed"), ("eu", "DE", "completed")]
    )
    failed = job(
        "u-broken",
        "failed",
        minutes_ago=2,
        accounts=[("na", "US", "completed"), ("eu", "DE", "failed")],
        error=("TransientSpApiError", "getOrders answered 503 <b>four times</b>"),
    )
    evil = job(EVIL_USER, "completed", minutes_ago=1)

    # When the operator opens the dashboard and enters the token once
    sign_in(page, dashboard)

    # Then the completed and the failed job are listed with their status, progress and error
    recent = page.locator(f'#recent tr[data-job-id="{done.job_id}"]')
    assert recent.locator(".badge").first.inner_text() == "completed"
    assert "2/2" in recent.inner_text()
    failed_row = page.locator(f'#failed tr[data-job-id="{failed.job_id}"]')
    assert failed_row.locator(".error-type").inner_text() == "TransientSpApiError"
    assert (
        failed_row.locator(".error-message").first.inner_text() == "getOrders answered 503 <b>four times</b>"
    )
    assert page.locator('#counts [data-count="failed"] .value').inner_text() == "1"
    assert page.locator("#chart rect.failed").count() == 24

    # And the user id made of markup renders as text: no element, no script ran
    evil_cell = page.locator(f'#recent tr[data-job-id="{evil.job_id}"] td.user')
    assert evil_cell.inner_text() == EVIL_USER
    assert page.locator("#main script, #main img").count() == 0
    assert page.evaluate("window.pwned") is None and page.dialogs == []

    # When the failed job's Retry button is clicked
    failed_row.locator("button.retry").click()

    # Then a new queued job of the same user appears, and the record says it retries the failed one
    page.locator("#message", has_text="Retry queued as job").wait_for()
    retried = JobStatus.objects.get(retry_of=failed.job_id)
    queued_row = page.locator(f'#recent tr[data-job-id="{retried.job_id}"]')
    assert queued_row.get_attribute("data-status") == "queued"
    assert queued_row.locator("td.user").inner_text() == "u-broken"

    # And Cancel on the queued job cancels it
    queued_row.locator("button.cancel").click()
    page.locator(f'#recent tr[data-job-id="{retried.job_id}"][data-status="cancelled"]').wait_for()


def test_the_token_is_kept_for_the_tab_and_lookup_escapes_the_user_id(page, dashboard, make_user, job):
    # Given a user whose id is markup, with one job
    make_user(EVIL_USER)
    User.objects(user_id=EVIL_USER).update_one(set__last_synced_at=datetime.now(UTC) - timedelta(minutes=5))
    job(EVIL_USER, "completed")
    sign_in(page, dashboard)
    page.locator("#counts .card").first.wait_for()
    # When the page is reloaded, the token is still there (sessionStorage) and no login is asked
    assert page.evaluate("sessionStorage.getItem('sellersync.apiToken')") == TOKEN
    page.reload()
    page.locator("#counts .card").first.wait_for()
    assert page.locator("#login").is_hidden()
    # And a lookup of the user shows the id as text
    page.fill("#lookup-user", EVIL_USER)
    page.click("#lookup-form button[type=submit]")
    page.locator("#lookup-result strong.user").wait_for()
    assert page.locator("#lookup-result strong.user").inner_text() == EVIL_USER
    assert page.locator("#lookup-result tr").count() == 1
    assert page.evaluate("window.pwned") is None


def test_a_seller_scoped_token_shows_only_that_sellers_jobs(page, dashboard, settings, make_user, job):
    # Given two sellers with jobs, one of them failed
    make_user("seller-a")
    make_user("seller-b")
    own = [job("seller-a", "completed", minutes_ago=3), job("seller-a", "failed", minutes_ago=2)]
    others = [job("seller-b", "completed", minutes_ago=1), job("seller-b", "failed", minutes_ago=1)]

    # When seller-a's frontend opens the dashboard with seller-a's scoped token
    sign_in(page, dashboard, token=user_tokens.mint("seller-a", settings.user_token_secret))

    # Then it shows seller-a's jobs, with their actions, and nothing of the operator's lists
    for record in own:
        page.locator(f'#lookup-result tr[data-job-id="{record.job_id}"]').wait_for()
    assert page.locator("#lookup-result tr[data-job-id]").count() == 2
    assert page.locator("#lookup-title").inner_text() == "Your sync jobs"
    assert page.locator("#lookup-result .retry").count() == 1
    for hidden in ("#counts", "#chart", "#recent", "#failed"):
        assert page.locator(hidden).is_hidden(), hidden
    text = page.locator("body").inner_text()
    assert "seller-b" not in text and not any(r.job_id[:8] in text for r in others)
    assert page.locator("#message").is_hidden()
    # And a refresh keeps it that way
    page.click("#auto-refresh")
    page.reload()
    page.locator(f'#lookup-result tr[data-job-id="{own[0].job_id}"]').wait_for()
    assert page.locator("#recent").is_hidden() and page.locator("#message").is_hidden()


def test_a_wrong_token_is_refused_and_asked_again(page, dashboard):
    sign_in(page, dashboard, token="wrong-token-0123456789abcdef")
    page.locator("#message", has_text="The token was refused.").wait_for()
    assert page.locator("#login").is_visible()
    assert page.evaluate("sessionStorage.getItem('sellersync.apiToken')") is None


def test_screenshot_of_a_busy_dashboard(page, dashboard, make_user, job, tmp_path):
    # Given a day of jobs: mostly completed, some failed, a few queued, running and retrying
    for number in range(1, 41):
        make_user(f"seller-{number:03d}")
    now = datetime.now(UTC)
    User.objects(user_id__in=[f"seller-{n:03d}" for n in range(1, 34)]).update(set__last_synced_at=now)
    regions = [("na", "US", "completed"), ("eu", "DE", "completed"), ("fe", "JP", "completed")]
    for index in range(160):
        user = f"seller-{index % 40 + 1:03d}"
        minutes = (index * 9) % (24 * 60)
        if index % 11 == 0:
            error = ("TransientSpApiError", "getOrders: 503 Service Unavailable after 4 tries")
            job(
                user,
                "failed",
                minutes_ago=minutes,
                accounts=[regions[0], ("eu", "GB", "failed")],
                error=error,
            )
        else:
            job(user, "completed", minutes_ago=minutes, accounts=regions[: index % 3 + 1])
    job("seller-007", "failed", minutes_ago=0.5, accounts=[("na", "US", "auth_error")],
        error=("AccountAuthError", "LWA refused the refresh token: invalid_grant"))  # fmt: skip
    job("seller-041", "running", minutes_ago=0.2, accounts=[regions[0], ("eu", "DE", "pending")])
    job("seller-042", "retrying", minutes_ago=0.3, accounts=[("fe", "JP", "failed")])
    for user in ("seller-043", "seller-044"):
        job(user, "queued", minutes_ago=0.1, accounts=[])
    # When the dashboard is open
    sign_in(page, dashboard)
    page.locator("#recent tr[data-job-id]").first.wait_for()
    # Then the screenshot is written (to DASHBOARD_SCREENSHOT when set)
    target = tmp_path / "dashboard.png"
    page.screenshot(path=str(target), full_page=False)
    assert target.stat().st_size > 10_000
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        shutil.copyfile(target, os.environ["DASHBOARD_SCREENSHOT"])
