"""Scenario 23: the loop-policy decision with the platform and aiodns injected."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from workstation.exchanges.ccxt.loop_policy import (
    DEFAULT,
    SELECTOR,
    apply_loop_policy,
    choose_loop_policy,
    loop_problem,
)


@pytest.mark.parametrize(
    ("platform", "aiodns", "expected"),
    [
        ("win32", True, SELECTOR),
        ("win32", False, DEFAULT),
        ("linux", True, DEFAULT),
        ("linux", False, DEFAULT),
        ("darwin", True, DEFAULT),
    ],
)
def test_choose_loop_policy_when_platform_and_aiodns_vary_then_selector_only_on_windows_with_aiodns(
    platform: str, aiodns: bool, expected: str
) -> None:
    choice = choose_loop_policy(platform, aiodns)
    assert choice.policy == expected and choice.reason


def test_apply_loop_policy_when_windows_with_aiodns_then_a_selector_policy_is_installed() -> None:
    installed: list[Any] = []
    choice = apply_loop_policy("win32", True, set_policy=installed.append)
    assert choice.policy == SELECTOR
    (policy,) = installed
    expected = getattr(asyncio, "WindowsSelectorEventLoopPolicy", asyncio.DefaultEventLoopPolicy)
    assert isinstance(policy, expected)


@pytest.mark.parametrize(("platform", "aiodns"), [("win32", False), ("linux", True)])
def test_apply_loop_policy_when_not_needed_then_the_policy_is_left_alone(platform: str, aiodns: bool) -> None:
    installed: list[Any] = []
    assert apply_loop_policy(platform, aiodns, set_policy=installed.append).policy == DEFAULT
    assert installed == []


def test_loop_problem_when_windows_aiodns_and_a_non_selector_loop_then_reported() -> None:
    selector = asyncio.SelectorEventLoop()
    try:
        assert loop_problem(selector, "win32", True) is None
        assert loop_problem(selector, "linux", True) is None

        class ProactorLike(asyncio.AbstractEventLoop):
            pass

        problem = loop_problem(ProactorLike(), "win32", True)
        assert problem is not None and "SelectorEventLoop" in problem
        assert loop_problem(ProactorLike(), "win32", False) is None
    finally:
        selector.close()
