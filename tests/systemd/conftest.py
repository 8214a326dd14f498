"""Prints the end-to-end scenario's own closing line: ``e2e: N passed, N failed``."""

from __future__ import annotations

import pytest

_RESULTS = {"passed": 0, "failed": 0}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if item.module.__name__.endswith("test_e2e") and (report.when == "call" or report.failed):
        if report.passed:
            _RESULTS["passed"] += 1
        elif report.failed:
            _RESULTS["failed"] += 1


def pytest_terminal_summary(terminalreporter):
    if any(_RESULTS.values()):
        terminalreporter.write_line(
            f"e2e: {_RESULTS['passed']} passed, {_RESULTS['failed']} failed"
        )
