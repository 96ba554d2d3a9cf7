"""pytest plugin for mutation testing (scripts/mutation loads it through [tool.mutmut] in pyproject.toml).

mutmut stops a mutant's run at the first failing test, so the covering tests are run quickest first (by the
times mutmut recorded): a mutant that a quick test kills then costs no more than that test.
"""
import json
from pathlib import Path


def pytest_collection_modifyitems(session, config, items):
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from inside mutants/, where it keeps this file
    if stats.exists():
        durations = json.loads(stats.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
