"""Look-alike user ids are refused (issue 19): two ids that read the same must not name two users, and
two paths must not name one. Refused in a path and in a sync body alike, by name; nothing is written."""

from __future__ import annotations

import sys
import unicodedata
from urllib.parse import quote

import pytest

from models import User
from services.operations.onboarding import check_user_id
from services.platform.errors import InvalidInputError

LOOK_ALIKES = {
    "leading space": " u1",
    "trailing space": "u1 ",
    "trailing ideographic space": "u1\u3000",
    "zero-width space": "u\u200b1",
    "zero-width joiner": "u\u200d1",
    "right-to-left override": "u\u202e1",
    "bidi isolate": "u\u20661",
    "byte-order mark": "\ufeffu1",
    "soft hyphen": "u\xad1",
    "C1 control": "u\x851",
    "dot": ".",
    "dot dot": "..",
    "three dots": "...",
}


@pytest.mark.parametrize("value", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_user_id_in_a_path_is_a_400_naming_it_and_creates_nobody(client, snapshot, value):
    # Given an id that looks like another one, or like a path step
    before = snapshot()
    # When a user is put under it
    result = client.simulate_put(f"/app/users/{quote(value, safe='')}", json={"syncEnabled": True})
    # Then it is refused by name and no user exists
    assert result.status_code == 400, (value, result.text[:200])
    assert '"userId"' in result.json["description"]
    assert snapshot() == before and User.objects.count() == 0


@pytest.mark.parametrize("value", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_user_id_in_a_sync_body_is_a_400_naming_it(client, value):
    result = client.simulate_post("/app/job-status/sync", json={"userIds": [value]})
    assert result.status_code == 400, (value, result.text[:200])
    assert '"userIds[0]"' in result.json["description"]


@pytest.mark.parametrize("value", ["usér-1", "u 1", "a.b", ".hidden", "売り手-7"])
def test_ordinary_ids_with_inner_spaces_dots_and_letters_of_any_script_still_work(client, value):
    result = client.simulate_put(f"/app/users/{quote(value, safe='')}", json={"syncEnabled": True})
    assert result.status_code == 201, (value, result.text[:200])
    assert result.json["userId"] == value


@pytest.mark.parametrize("raw", [b"/app/users/a\xff", b"/app/users/a\xfe", b"/app/users/\xc3"])
def test_a_path_that_is_not_utf8_once_decoded_is_a_400_not_a_user(client, snapshot, raw):
    # Given a path whose percent-decoded bytes are not UTF-8 (a%ff and a%fe would both read as a\ufffd),
    # as a WSGI server hands it on (PEP 3333: the bytes as latin-1)
    before = snapshot()
    # When a user is put under it
    result = client.simulate_put("/app/users/x", json={}, extras={"PATH_INFO": raw.decode("latin-1")})
    # Then it is refused, naming the problem, and nobody is created
    assert result.status_code == 400, result.text[:200]
    assert "UTF-8" in result.json["description"]
    assert snapshot() == before


def test_a_query_string_that_is_not_utf8_once_decoded_is_a_400(client):
    result = client.simulate_get("/app/job-status/recent", query_string="status=%ff")
    assert result.status_code == 400 and "UTF-8" in result.json["description"]


def test_the_rule_refuses_every_control_format_and_separator_character_python_knows():
    # Given every code point Unicode (as this Python knows it) files as control, format or separator
    refused = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if unicodedata.category(char) in refused:
            # Then the rule refuses it anywhere in an id
            with pytest.raises(InvalidInputError):
                check_user_id(f"a{char}b")
