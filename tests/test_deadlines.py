"""The watchdog that keeps speech workers' time limits: armed actions run once their time is
up, disarmed ones never, and one thread serves them all."""

from __future__ import annotations

import threading

from coach.deadlines import Watchdog


def test_an_armed_action_runs_once_its_time_is_up() -> None:
    watchdog = Watchdog()
    ran = threading.Event()
    watchdog.arm(0.01, ran.set)
    assert ran.wait(30)


def test_a_disarmed_action_never_runs() -> None:
    watchdog = Watchdog()
    order: list[str] = []
    done = threading.Event()
    ticket = watchdog.arm(0.01, lambda: order.append("disarmed"))
    watchdog.disarm(ticket)
    watchdog.arm(0.05, lambda: (order.append("later"), done.set()))
    assert done.wait(30)
    assert order == ["later"]


def test_an_earlier_limit_armed_after_a_later_one_is_not_held_up_by_it() -> None:
    watchdog = Watchdog()
    ran = threading.Event()
    watchdog.arm(3600, lambda: None)
    watchdog.arm(0.01, ran.set)
    assert ran.wait(30)


def test_actions_run_in_the_order_of_their_limits_on_one_thread() -> None:
    watchdog = Watchdog()
    seen: list[tuple[str, int]] = []
    done = threading.Event()
    watchdog.arm(0.06, lambda: (seen.append(("c", threading.get_ident())), done.set()))
    watchdog.arm(0.02, lambda: seen.append(("a", threading.get_ident())))
    watchdog.arm(0.04, lambda: seen.append(("b", threading.get_ident())))
    assert done.wait(30)
    assert [name for name, _ in seen] == ["a", "b", "c"]
    assert len({thread for _, thread in seen}) == 1


def test_an_action_that_fails_does_not_end_the_watchdog() -> None:
    watchdog = Watchdog()
    ran = threading.Event()

    def fail() -> None:
        raise OSError("no such process")

    watchdog.arm(0.01, fail)
    watchdog.arm(0.02, ran.set)
    assert ran.wait(30)
