"""The dashboard in a real headless Chromium: every field is shown as text, the page runs under its
strict Content-Security-Policy, and the API token travels only in the Authorization header.

Served over HTTP by web.devserver, so the browser enforces the headers the app really sends.
"""

from __future__ import annotations

import re

import pytest

from models import JobStatus
from tests.support import browser
from tests.support.browser import new_page
from tests.web.factory import TOKEN


def markup(field: str) -> str:
    """Markup that would run script (and say which field let it in) if it were ever parsed as HTML.

    No "/": a user id is one path segment of the API.
    """
    return f"<img src=x onerror=\"(window.pwned=window.pwned||[]).push('{field}')\"><b>{field}<i>"


#: Records the Content-Security-Policy violations and every request the page makes.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture
def page(browser):
    context, page = new_page(browser)
    page.add_init_script(WATCH)
    page.requests = []
    page.on("request", lambda request: page.requests.append(request))
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def sign_in(page, url: str) -> None:
    """Sign in with the operator token and wait for the recent jobs' rows."""
    browser.sign_in(page, url, TOKEN)
    page.locator("#recent tr[data-job-id]").first.wait_for()


def test_every_field_of_a_job_is_shown_as_text_never_as_markup(page, dashboard, make_user, job):
    # Given a user whose id is markup, and jobs whose every free-text field is markup too: the
    # error, each account's region, country and error; one stored record even has markup
    # in its status and trigger (written past the model's checks, as a corrupt record would be)
    user = markup("userId")
    make_user(user)
    failed = job(
        user,
        "failed",
        minutes_ago=2,
        accounts=[(markup("region"), markup("country"), "failed")],
        error=(markup("error.type"), markup("error.message")),
        worker=markup("worker"),
    )
    failed.accounts[0].error.type = markup("account.error.type")
    failed.accounts[0].error.message = markup("account.error.message")
    failed.save()
    corrupt = job(user, "completed", minutes_ago=1)
    JobStatus._get_collection().update_one(
        {"job_id": corrupt.job_id}, {"$set": {"status": markup("status"), "trigger": markup("trigger")}}
    )
    fields = ["userId", "region", "country", "error.type", "error.message", "account.error.type"]
    fields += ["account.error.message", "status", "trigger"]

    # When the operator signs in, and looks the user up
    sign_in(page, dashboard)
    page.fill("#lookup-user", user)
    page.click("#lookup-form button[type=submit]")
    page.locator("#lookup-result strong.user").wait_for()

    # Then the markup of every field is on the page as text
    text = page.locator("#main").inner_text()
    for field in fields:
        assert f"<b>{field}<i>" in text, f"{field} is not shown as text"
    assert page.locator("#lookup-result strong.user").inner_text() == user
    # And none of it became an element, so nothing could run (this holds without the CSP too)
    assert page.locator("#main img, #main script, #main b, #main i").count() == 0
    assert page.evaluate("window.pwned") is None
    assert page.errors == []


def test_the_page_runs_under_its_policy_and_sends_the_token_only_in_a_header(page, dashboard, make_user, job):
    # Given a failed job and a queued one
    make_user("u-retry")
    make_user("u-queued")
    failed = job("u-retry", "failed", error=("TransientSpApiError", "503"))
    job("u-queued", "queued", minutes_ago=0.5, accounts=[])

    # When the operator signs in, filters, looks a user up, syncs it, retries and cancels a job
    sign_in(page, dashboard)
    page.select_option("#status-filter", "failed")
    page.locator(f'#recent tr[data-job-id="{failed.job_id}"]').wait_for()
    page.fill("#lookup-user", "u-queued")
    page.click("#lookup-form button[type=submit]")
    page.locator("#lookup-result strong.user").wait_for()
    page.click("#lookup-sync")
    page.locator("#message", has_text=re.compile("Queued job|already has job")).wait_for()
    page.locator(f'#failed tr[data-job-id="{failed.job_id}"] button.retry').click()
    page.locator("#message", has_text="Retry queued as job").wait_for()
    page.select_option("#status-filter", "")
    retried = JobStatus.objects.get(retry_of=failed.job_id)
    page.locator(f'#recent tr[data-job-id="{retried.job_id}"] button.cancel').click()
    page.locator(f'#recent tr[data-job-id="{retried.job_id}"][data-status="cancelled"]').wait_for()

    # Then the page ran under its strict policy without a single violation or script error
    assert page.evaluate("window.__violations") == []
    assert page.errors == []
    # And the token was never in a URL; every API call carried it in the Authorization header
    urls = [request.url for request in page.requests]
    assert not [url for url in urls if TOKEN in url]
    api_calls = [r for r in page.requests if "/app/job-status/" in r.url and "/static/" not in r.url]
    api_calls = [r for r in api_calls if not r.url.endswith("/app/job-status/")]
    assert {r.method for r in api_calls} >= {"GET", "POST", "DELETE"}
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in api_calls)
    # And the page and its files were fetched without it
    assert all("authorization" not in r.headers for r in page.requests if r not in api_calls)
    # And the token is kept in the tab only: no cookie, no local storage
    assert page.context.cookies() == []
    assert page.evaluate("Object.keys(localStorage).length") == 0
