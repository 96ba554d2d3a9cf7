"""The mutation run's results kept in git: a fresh checkout starts from them instead of testing every mutant again."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("mutation_driver", ROOT / "scripts" / "mutation.py")
driver = importlib.util.module_from_spec(spec)
spec.loader.exec_module(driver)

FILE = Path("trace/services/scan.py")
NAME = "trace.services.scan.x_scan_facts__mutmut_{}"


def test_results_go_to_git_without_the_untested_and_come_back_only_where_mutmut_has_no_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    meta = tmp_path / "mutants" / "trace/services/scan.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": {NAME.format(2): 0, NAME.format(1): 1, NAME.format(3): None},
                                "hash_by_function_name": {"x_scan_facts": "0fceede68bfe", "x_record_scan": "5303642d"},
                                "type_check_error_by_key": {}, "durations_by_key": {NAME.format(1): 0.4},
                                "estimated_durations_by_key": {}}))
    driver.keep_results([FILE, Path("trace/services/claims.py")])  # claims has no record: nothing kept
    kept = json.loads((tmp_path / "mutation-results/trace/services/scan.json").read_text())
    assert kept == {"function_hashes": {"x_record_scan": "5303642d", "x_scan_facts": "0fceede68bfe"},
                    "exit_codes": {NAME.format(1): 1, NAME.format(2): 0}}
    assert [p.name for p in (tmp_path / "mutation-results/trace/services").iterdir()] == ["scan.json"]

    copy = tmp_path / "mutants" / FILE
    copy.write_text("# mutmut generated\n")
    meta.write_text(json.dumps({"exit_code_by_key": {}, "hash_by_function_name": {}}))
    driver.restore_results([FILE])
    assert json.loads(meta.read_text()) == {"exit_code_by_key": {}, "hash_by_function_name": {}}  # a record stays
    assert copy.exists()

    meta.unlink()
    driver.restore_results([FILE])
    assert json.loads(meta.read_text()) == {
        "exit_code_by_key": {NAME.format(1): 1, NAME.format(2): 0},
        "hash_by_function_name": {"x_record_scan": "5303642d", "x_scan_facts": "0fceede68bfe"},
        "type_check_error_by_key": {}, "durations_by_key": {}, "estimated_durations_by_key": {}}
    assert not copy.exists()  # mutmut writes the mutants again and keeps the results of unchanged functions


def test_the_survivors_the_readme_explains_are_read_from_its_score_section_by_mutmut_name(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("## Mutation testing\n`lots.find_lot` 1 is not here.\n### Score\n"
                      "- A join condition left out (5): `lots.find_lot` 7, 9; `stock.StockBook.flush` 15–17.\n"
                      "- The same value (2): `keys.CachedKeyset.__init__` 2,\n  3; `int.from_bytes`' default.\n"
                      "## Performance\n`lots.held_lots` 11.\n")
    assert driver.explained_in_readme(readme) == {
        "trace.services.lots.x_find_lot__mutmut_7", "trace.services.lots.x_find_lot__mutmut_9",
        "trace.services.stock.xǁStockBookǁflush__mutmut_15", "trace.services.stock.xǁStockBookǁflush__mutmut_16",
        "trace.services.stock.xǁStockBookǁflush__mutmut_17", "trace.services.keys.xǁCachedKeysetǁ__init____mutmut_2",
        "trace.services.keys.xǁCachedKeysetǁ__init____mutmut_3"}
