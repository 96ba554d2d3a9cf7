"""Mutation testing of the services (or of the paths given) with mutmut, then the score and the survivors.

mutmut copies the package into mutants/, rewrites every function of the files in scope into its mutants
behind a trampoline, records which tests reach which function, and runs only those tests against each
mutant. Results are kept in mutants/*.meta, so a second run tests only mutants of changed functions, and copied
to mutation-results/ (kept in git), from which a fresh checkout starts instead of testing every mutant again.

The package is called `trace`, like a module of the standard library. mutmut puts mutants/ first on
sys.path before any test imports it; this driver checks that nothing imported the standard library's
`trace` earlier, so the tests can only ever exercise the mutated copy of ours.
"""
import argparse
import fnmatch
import functools
import json
import math
import os
import random
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path
from statistics import NormalDist

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCOPE = ["trace/services"]
MUTANTS = Path("mutants")
RESULTS = Path("mutation-results")
# Statuses that mean the tests noticed the mutant: a failing test, or a mutant that ran past its CPU limit.
DETECTED = {"killed", "timeout"}


def scope_files(paths: list[str]) -> list[Path]:
    """The .py files under the given paths, relative to the repository root; a path outside trace/ is refused."""
    skipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"].get("do_not_mutate", [])
    files = []
    for given in paths:
        path = Path(given.rstrip("/"))
        if path.is_absolute():
            path = path.resolve().relative_to(ROOT)
        if not (ROOT / path).exists() or path.parts[0] != "trace":
            raise SystemExit(f"{given}: not a file or folder of the trace package")
        found = [path] if path.suffix == ".py" else sorted(p.relative_to(ROOT) for p in (ROOT / path).rglob("*.py"))
        files += [f for f in found if f.name != "__init__.py" and f not in files
                  and not any(fnmatch.fnmatch(str(f), pattern) for pattern in skipped)]
    if not files:
        raise SystemExit(f"No Python files to mutate under {' '.join(paths)}")
    return files


def prepare(files: list[Path]) -> None:
    """Make mutants/ agree with the scope before mutmut looks at it.

    mutmut keeps a file's earlier results while the copy in mutants/ is newer than the source, even when
    that copy was left unmutated by a run with another scope; such a copy is removed so it is mutated
    again. A file newly in scope has no record of which tests reach it, so the test map is rebuilt.
    """
    widened = False
    for file in files:
        copy = MUTANTS / file
        if copy.exists() and "# mutmut generated" not in copy.read_text():
            copy.unlink()
            widened = True
        elif not copy.exists():
            widened = True
    if widened:
        (MUTANTS / "mutmut-stats.json").unlink(missing_ok=True)
    # mutmut copies the rest of the package (modules out of scope, templates' translations, static files) only
    # when mutants/ has no copy yet: one changed since would leave the tests running the old one.
    for source in (ROOT / "trace").rglob("*"):
        relative = source.relative_to(ROOT)
        copy = MUTANTS / relative
        if (source.is_file() and "__pycache__" not in relative.parts and relative not in files and copy.exists()
                and copy.stat().st_mtime < source.stat().st_mtime):
            copy.unlink()


def restore_results(files: list[Path]) -> None:
    """Give mutmut the results kept in git for the files it has no record of (a fresh checkout); it keeps those
    of the functions whose code is unchanged, by their hash, and tests the rest again."""
    for file in files:
        kept, meta = RESULTS / file.with_suffix(".json"), MUTANTS / (str(file) + ".meta")
        if meta.exists() or not kept.exists():
            continue
        results = json.loads(kept.read_text())
        meta.parent.mkdir(parents=True, exist_ok=True)
        (MUTANTS / file).unlink(missing_ok=True)  # a copy without its record would be taken as up to date
        meta.write_text(json.dumps({"exit_code_by_key": results["exit_codes"],
                                    "hash_by_function_name": results["function_hashes"],
                                    "type_check_error_by_key": {}, "durations_by_key": {},
                                    "estimated_durations_by_key": {}}))


def keep_results(files: list[Path]) -> None:
    """Copy each file's results from mutants/ to mutation-results/: the mutants tested (by name, mutmut's exit
    code) and the hash of each function's code they were tested against."""
    for file in files:
        meta = MUTANTS / (str(file) + ".meta")
        if not meta.exists():
            continue
        record = json.loads(meta.read_text())
        tested = {name: code for name, code in sorted(record["exit_code_by_key"].items()) if code is not None}
        kept = RESULTS / file.with_suffix(".json")
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_text(json.dumps({"function_hashes": dict(sorted(record["hash_by_function_name"].items())),
                                    "exit_codes": tested}, indent=0) + "\n")


def link_shared_anchors() -> Path | None:
    """The GS1 and EPCIS test vectors sit in ../shared beside the checkout; from mutants/tests the tests look
    one level lower, in the checkout itself, so a link is made there for the run (and removed after)."""
    link, target = ROOT / "shared", ROOT.parent / "shared"
    if link.exists() or link.is_symlink() or not target.is_dir():
        return None
    link.symlink_to(target)
    return link


def statuses_of(file: Path) -> dict:
    """mutant name -> status ('killed', 'survived', 'not checked', …) from mutmut's record of a file."""
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    data = SourceFileMutationData(path=file)
    data.load()
    return {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()}


def sample_of(file: Path, size: int, seed: int) -> list[str]:
    """`size` of the file's mutants drawn at random, the same ones for the same seed and the same code."""
    names = sorted(statuses_of(file))
    return sorted(random.Random(f"{seed}:{file}").sample(names, min(size, len(names))))


def wilson(killed: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion: it stays inside 0..1 and is honest for small samples."""
    if not n:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = killed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def run_mutmut(files: list[Path], max_children: int, again: bool, only: list[str], sample: tuple | None) -> None:
    """Test the mutants not checked yet (and, with `again`, those no test noticed last time); with `only`,
    just the mutants whose names match one of its patterns, whatever their status; with `sample`
    (size, seed), only those of a random sample of each file's mutants.

    The mutants are named to mutmut, so that it runs only the tests that reach them before it starts (by
    default it runs the whole suite first)."""
    if "trace" in sys.modules:
        raise SystemExit("The standard library's trace module was imported before the run; the tests would not see ours")
    from mutmut import configuration
    from mutmut.__main__ import cli, create_mutants
    from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths

    configuration.config().only_mutate = [str(f) for f in files]
    MUTANTS.mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    create_mutants(max_children)
    drawn = {name for file in files for name in sample_of(file, *sample)} if sample else None
    wanted = [name for file in files for name, status in statuses_of(file).items()
              if (any(fnmatch.fnmatch(name, pattern) for pattern in only) if only
                  else (drawn is None or name in drawn)
                  and (status == "not checked" or (again and status not in DETECTED)))]
    if not wanted:
        print("Every mutant in scope has been checked (--again tests the survivors once more).")
        return
    print(f"Testing {len(wanted)} mutants of {len(files)} files …", flush=True)
    try:
        cli(["run", "--max-children", str(max_children), *wanted], standalone_mode=False)
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise


def survivor_line(name: str, path: Path) -> str:
    """The mutated line of a surviving mutant, as 'old  →  new'."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    try:
        diff = get_diff_for_mutant(name, path=path, source=None if (MUTANTS / path).exists() else mutated(path))
        diff = diff.splitlines()
    except FileNotFoundError:  # its function changed or went since that run: the next run tests it again
        return "(its function has changed since: run again)"
    removed = [line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")]
    return f"{' / '.join(removed)}  →  {' / '.join(added)}"


@functools.cache
def mutated(path: Path) -> str:
    """The file with all its mutants, as mutmut writes it, for a checkout that has its results but no mutants/."""
    from mutmut.mutation.file_mutation import mutate_file_contents

    return mutate_file_contents(str(path), path.read_text()).code


def explained_in_readme(readme: Path = ROOT / "README.md") -> set[str]:
    """The survivors the README's "Score" section explains, by mutmut's name: each reason there ends with the
    functions it covers and their mutants' numbers (`lots.find_lot` 7, 9; `stock.StockBook.flush` 15–19)."""
    text = readme.read_text()
    start = text.find("\n### Score")
    section = text[start:text.find("\n## ", start)] if start >= 0 else ""
    names = set()
    for function, numbers in re.findall(r"`(\w+\.[\w.]+)`((?:[\s,;]*\d+(?:–\d+)?)+)", section):
        module, *rest = function.split(".")
        mangled = f"xǁ{rest[0]}ǁ{rest[1]}" if len(rest) == 2 else f"x_{rest[0]}"
        for first, last in re.findall(r"(\d+)(?:–(\d+))?", numbers):
            for n in range(int(first), int(last or first) + 1):
                names.add(f"trace.services.{module}.{mangled}__mutmut_{n}")
    return names


def report(files: list[Path]) -> float:
    """Print killed / total per module and overall, and every mutant the tests did not notice."""
    from mutmut import configuration

    configuration.config().only_mutate = [str(f) for f in files]
    overall, survivors = Counter(), []
    print(f"{'module':<40} {'killed':>7} {'total':>7} {'score':>7}  not killed")
    for file in files:
        statuses = statuses_of(file)
        if not statuses:
            continue
        counts = Counter(statuses.values())
        killed = sum(counts[s] for s in DETECTED)
        total = len(statuses) - counts["not checked"]
        overall.update(counts)
        missed = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in DETECTED)
        score = f"{100 * killed / total:.1f}%" if total else "—"
        print(f"{str(file):<40} {killed:>7} {total:>7} {score:>7}  {missed}")
        survivors += [(name, status, file) for name, status in sorted(statuses.items())
                      if status not in DETECTED and status != "not checked"]
    killed = sum(overall[s] for s in DETECTED)
    total = sum(overall.values()) - overall["not checked"]
    score = 100 * killed / total if total else 0.0
    print(f"{'overall':<40} {killed:>7} {total:>7} {score:>6.1f}%")
    if overall["not checked"]:
        print(f"({overall['not checked']} mutants not checked yet: run again to go on)")
    if survivors:
        explained = explained_in_readme()
        unexplained = [s for s in survivors if s[0] not in explained]
        print(f"\nNot killed ({len(survivors)}; {len(survivors) - len(unexplained)} explained in the README):")
        for name, status, file in survivors:
            print(f"  {name} [{status}]  {survivor_line(name, file)}")
        if unexplained:
            print(f"\nNot explained in the README ({len(unexplained)}):")
            for name, status, _file in unexplained:
                print(f"  {name} [{status}]")
    return score


def report_sample(files: list[Path], size: int, seed: int) -> None:
    """Estimate each module's score from a random sample of its mutants, where not all were tested.

    The mutants tested so far are not a fair sample of a module when a run stopped early: mutmut tests the
    quickest first, and a surviving mutant is the slowest kind (every test that reaches it runs). The kill
    rate of a random sample is; the estimate for the files together weighs each file by its mutants."""
    print(f"\nRandom sample of {size} mutants per module (seed {seed}), 95 % Wilson interval:")
    print(f"{'module':<40} {'mutants':>7} {'sample':>7} {'killed':>7} {'estimate':>9}  interval")
    weighted, all_mutants, untested = 0.0, 0, 0  # all_mutants: of the files with a tested sample
    for file in files:
        statuses = statuses_of(file)
        if not statuses:
            continue
        drawn = [statuses[name] for name in sample_of(file, size, seed)]
        tested = [status for status in drawn if status != "not checked"]
        untested += len(drawn) - len(tested)
        killed = sum(status in DETECTED for status in tested)
        if not tested:
            print(f"{str(file):<40} {len(statuses):>7} {0:>7} {'':>7} {'—':>9}")
            continue
        low, high = wilson(killed, len(tested))
        weighted += killed / len(tested) * len(statuses)
        all_mutants += len(statuses)
        print(f"{str(file):<40} {len(statuses):>7} {len(tested):>7} {killed:>7} {100 * killed / len(tested):>8.1f}%"
              f"  {100 * low:.1f}–{100 * high:.1f} %")
    if all_mutants:
        print(f"{'estimate for the files sampled':<40} {all_mutants:>7} {'':>7} {'':>7} "
              f"{100 * weighted / all_mutants:>8.1f}%")
    if untested:
        print(f"({untested} mutants of the sample not tested yet: run with the same --sample to go on)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=DEFAULT_SCOPE,
                        help="files or folders of the package to mutate (default: trace/services)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--again", action="store_true", help="test the mutants that survived last time once more")
    parser.add_argument("--only", nargs="+", default=[], metavar="MUTANT",
                        help="test just these mutants (names or patterns from the list of survivors)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="test only N mutants of each file drawn at random, and estimate each file's score")
    parser.add_argument("--seed", type=int, default=1, help="the random sample's seed (default 1)")
    parser.add_argument("--report", action="store_true", help="only print the score of the last runs")
    args = parser.parse_args()
    os.chdir(ROOT)
    files = scope_files(args.paths)
    restore_results(files)
    if not args.report:
        prepare(files)
        link = link_shared_anchors()
        try:
            run_mutmut(files, args.max_children, args.again, args.only,
                       (args.sample, args.seed) if args.sample else None)
        finally:  # a run stopped with Ctrl-C keeps what it tested too
            if link:
                link.unlink(missing_ok=True)
            keep_results(files)
    else:
        keep_results(files)  # --report, run while a run goes on, keeps what it has tested so far
    report(files)
    if args.sample:
        report_sample(files, args.sample, args.seed)


if __name__ == "__main__":
    main()
