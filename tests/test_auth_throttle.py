"""Failed sign-ins are throttled in the shared database, even when many sessions guess at once."""

from __future__ import annotations

import threading

from auth.throttle import LoginThrottle, ThrottlePolicy
from tests.seed import at


def test_a_locked_username_refuses_the_right_password_without_checking_it(db):
    throttle = LoginThrottle(db.backend.write)
    for minute in range(5):  # 5 failures within 10 minutes
        assert not throttle.attempt("analyst", lambda: False, now=at(minutes=minute)).accepted
    checked = []
    refused = throttle.attempt("Analyst", lambda: checked.append(1) or True, now=at(minutes=5))
    # the lock runs 10 minutes from the last failure (minute 4) and ignores the case of the name
    assert (refused.accepted, refused.locked_until, checked) == (False, at(minutes=14), [])
    # a refused attempt during the lock does not extend it
    assert throttle.attempt("analyst", lambda: True, now=at(minutes=14)).accepted
    assert throttle.failures("analyst") == 0  # success clears the record


def test_a_success_before_the_limit_clears_the_failures(db):
    throttle = LoginThrottle(db.backend.write)
    for minute in range(4):
        throttle.attempt("operator", lambda: False, now=at(minutes=minute))
    assert throttle.attempt("operator", lambda: True, now=at(minutes=4)).accepted
    assert throttle.failures("operator") == 0


def test_concurrent_guesses_get_at_most_the_limit_of_password_checks(db):
    """Twelve sessions guess at the same moment: the attempt is recorded before the check, so at
    most 5 passwords are ever checked and the username ends up locked."""
    throttle = LoginThrottle(db.backend.write, ThrottlePolicy(max_failures=5))
    barrier = threading.Barrier(12)
    checks: list[int] = []
    lock = threading.Lock()

    def guess() -> bool:
        with lock:
            checks.append(1)
        return False

    def session() -> None:
        barrier.wait()
        throttle.attempt("admin", guess, now=at())

    threads = [threading.Thread(target=session) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checks) <= 5
    # only the checked (and failed) guesses stay recorded; the crowded-out ones were never counted
    assert throttle.failures("admin") == len(checks)
    if len(checks) == 5:
        assert throttle.locked_until("admin", now=at()) == at(minutes=10)


def test_old_failures_are_pruned_when_a_new_one_is_recorded(db):
    throttle = LoginThrottle(db.backend.write)  # keeps 2 x (10 + 10) minutes of history
    throttle.record_failure("old", now=at(minutes=0))
    throttle.record_failure("new", now=at(minutes=40))  # exactly 40 minutes later: kept
    throttle.record_failure("new", now=at(minutes=41))  # now the first is older than 40 minutes
    assert (throttle.failures("old"), throttle.failures("new")) == (0, 2)
