"""Signing in: every attempt is an event; five wrong passwords in a row lock for 15 minutes."""

from __future__ import annotations

import pytest

from domain.account import account_id
from domain.errors import AccountDisabledError, AccountLockedError, NotPermittedError
from tests.conftest import PASSWORD


def events_of(app, login: str) -> list[str]:
    return [type(e).__name__ for e in app.events.get(account_id(login))]


def test_a_right_password_signs_in_and_is_recorded(memory_app):
    account = memory_app.log_in(" Office ", PASSWORD, source="127.0.0.1")
    assert account["login"] == "office" and "office" in account["roles"]
    memory_app.log_out("office", source="127.0.0.1")
    assert events_of(memory_app, "office")[-2:] == ["LoggedIn", "LoggedOut"]


@pytest.mark.parametrize("login, password", [
    ("office", "wrong-password"), ("nobody", PASSWORD), ("", ""), ("office", ""),
    ("office", "x" * 1000), (None, PASSWORD), ("office", None),
])
def test_a_wrong_login_says_the_same_whoever_it_names(memory_app, login, password):
    with pytest.raises(NotPermittedError) as refused:
        memory_app.log_in(login, password)
    assert refused.value.message == "账号或密码错误"


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(memory_app, clock):
    for _ in range(5):
        with pytest.raises(NotPermittedError) as refused:
            memory_app.log_in("insp", "wrong-password")
        assert refused.value.message == "账号或密码错误"     # a guesser learns nothing more
    # Locked: even the right password is refused (only now is the lock named), and the
    # refusals are on the record.
    clock.advance(minutes=14)
    with pytest.raises(AccountLockedError, match="已锁定"):
        memory_app.log_in("insp", PASSWORD)
    with pytest.raises(NotPermittedError) as refused:
        memory_app.log_in("insp", "wrong-password")
    assert not isinstance(refused.value, AccountLockedError)
    assert events_of(memory_app, "insp")[-3:] == ["LoginFailed"] * 3
    clock.advance(minutes=1, seconds=1)
    assert memory_app.log_in("insp", PASSWORD)["login"] == "insp"


def test_a_lock_that_ran_out_counts_again_from_one(memory_app, clock):
    for _ in range(5):
        with pytest.raises(NotPermittedError):
            memory_app.log_in("insp", "wrong-password")
    clock.advance(minutes=16)
    with pytest.raises(NotPermittedError) as refused:
        memory_app.log_in("insp", "wrong-password")
    assert not isinstance(refused.value, AccountLockedError)


def test_a_success_resets_the_count(memory_app):
    for _ in range(4):
        with pytest.raises(NotPermittedError):
            memory_app.log_in("insp", "wrong-password")
    memory_app.log_in("insp", PASSWORD)
    for _ in range(4):
        with pytest.raises(NotPermittedError):
            memory_app.log_in("insp", "wrong-password")
    assert memory_app.log_in("insp", PASSWORD)


def test_a_disabled_account_cannot_sign_in(memory_app):
    memory_app.disable_account("office", "insp", "调离")
    with pytest.raises(AccountDisabledError):
        memory_app.log_in("insp", PASSWORD)
    with pytest.raises(NotPermittedError) as refused:     # #4 review: no hint without it
        memory_app.log_in("insp", "wrong-password")
    assert refused.value.message == "账号或密码错误"
    assert events_of(memory_app, "insp")[-2:] == ["LoginFailed", "LoginFailed"]


def test_confirming_the_current_password_counts_towards_the_lock(memory_app):
    # #4 review: the change-password form must not allow unlimited guesses.
    for _ in range(5):
        with pytest.raises(NotPermittedError):
            memory_app.confirm_password("insp", "wrong-password")
    with pytest.raises(AccountLockedError):
        memory_app.confirm_password("insp", PASSWORD)
    memory_app.recent.forget(account_id("insp"))
    assert events_of(memory_app, "insp")[-1] == "LoginFailed"


def test_signing_out_ends_every_session_of_the_account(memory_app):
    before = memory_app.session_stamp("insp")
    memory_app.log_out("insp")
    assert memory_app.session_stamp("insp") != before


def test_the_session_stamp_changes_with_the_password(memory_app):
    before = memory_app.session_stamp("insp")
    memory_app.change_password("insp", "insp", "another-horse")
    assert memory_app.session_stamp("insp") != before


def test_the_read_models_show_sign_ins_and_locks(memory_app, clock, tmp_path):
    from projections.readmodels import ReadModels

    memory_app.log_in("insp", PASSWORD, source="10.0.0.7")
    for _ in range(5):
        with pytest.raises(NotPermittedError):
            memory_app.log_in("insp", "wrong-password", source="10.0.0.8")
    read = ReadModels(memory_app, tmp_path / "read.sqlite3")
    db = read.fresh()
    failed, locked_until, last = db.execute(
        "SELECT failed_logins, locked_until, last_login_at FROM accounts "
        "WHERE login = 'insp'").fetchone()
    assert failed == 5 and locked_until.startswith("2026-11-02T09:15")
    assert last.startswith("2026-11-02T09:00")
    rows = db.execute("SELECT event, source, reason FROM sign_ins WHERE login = 'insp' "
                      "ORDER BY seq").fetchall()
    assert rows == [("LoggedIn", "10.0.0.7", None)] + [("LoginFailed", "10.0.0.8", "password")] * 5
    read.close()


def test_api_tokens_are_shown_once_kept_as_digests_and_revocable(memory_app):
    token = memory_app.issue_api_token("school_a", "教务系统对接")
    assert token.startswith("xh_school_a_")
    assert memory_app.login_of_token(token) == "school_a"
    [listed] = memory_app.api_tokens("school_a")
    assert listed["label"] == "教务系统对接" and "digest" not in listed
    stored = b"".join(n.state for n in memory_app.recorder.select_notifications(start=1, limit=10**6))
    assert token.rsplit("_", 1)[1].encode() not in stored
    for forged in [token[:-1] + ("0" if token[-1] != "0" else "1"), "xh_office_" + token.split("_", 3)[3],
                   "", "garbage", "xh__", "xh_nobody_00_00"]:
        with pytest.raises(NotPermittedError):
            memory_app.login_of_token(forged)
    memory_app.revoke_api_token("school_a", listed["id"])
    with pytest.raises(NotPermittedError):
        memory_app.login_of_token(token)
