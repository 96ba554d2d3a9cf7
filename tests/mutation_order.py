"""pytest plugin for mutation testing (scripts/mutation loads it through [tool.mutmut] in pyproject.toml).

mutmut stops a mutant's run at the first failing test, so the covering tests are run quickest first (by the
times mutmut recorded): a mutant that a quick test kills then costs no more than that test.

mutmut runs the unmutated suite in its own process and forks each mutant's run from it, so anything the
package cached there (canonical URIs, parsed links, fonts) would answer for the mutated code: the mutant would
never run for an input seen before. The same cache would let only the first test to use a value be recorded as
reaching the functions beneath it. Every cache of the package is emptied before each test.
"""
import json
import sys
from pathlib import Path

import pytest


def pytest_collection_modifyitems(session, config, items):
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from inside mutants/, where it keeps this file
    if stats.exists():
        durations = json.loads(stats.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for name, module in list(sys.modules.items()):
        if name == "trace" or name.startswith("trace."):
            for value in list(vars(module).values()):
                if callable(getattr(type(value), "cache_clear", None)):  # the class's: a proxy's lookup needs an app
                    value.cache_clear()
