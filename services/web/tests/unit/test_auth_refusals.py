"""What a shopper reads when identity refuses a sign-in or a sign-up, and with which status."""

from __future__ import annotations

import pytest

from web.entrypoints.auth import _sign_in_refused, _sign_up_refused
from web.service.ports import IdentityRefused

pytestmark = pytest.mark.unit

NO_MATCH = "That e-mail and password do not match an account."


@pytest.mark.parametrize(("status", "expected"), [
    (400, (400, NO_MATCH)), (401, (400, NO_MATCH)), (422, (400, NO_MATCH)),
    (403, (400, "identity's words")),
    (429, (429, "identity's words")),  # throttled: "try again later", not "unavailable"
    (500, (503, "identity's words")), (503, (503, "identity's words"))])
def test_a_refused_sign_in_never_says_which_of_email_and_password_was_wrong(
        status: int, expected: tuple[int, str]) -> None:
    assert _sign_in_refused(IdentityRefused(status, "x", "identity's words")) == expected


@pytest.mark.parametrize(("status", "expected"), [
    (409, (400, "taken")), (422, (400, "taken")), (429, (429, "taken")), (502, (503, "taken"))])
def test_a_refused_sign_up_shows_identitys_reason(status: int, expected: tuple[int, str]) -> None:
    assert _sign_up_refused(IdentityRefused(status, "x", "taken")) == expected
