"""Fixed costs a newcomer meets, measured side by side on two trees of this repository (fresh processes each):

- `evalkit --help` and `evalkit compare --help`;
- the first `evalkit reranker=none` on the sample (empty EVALKIT_CACHE): total wall time and its evaluate stage;
- a second run in a fresh process (warm caches): its evaluate stage (manifest.json wall_seconds).

    python scripts/bench_startup.py --before ed2c077          # a git ref, checked out in a temporary worktree
    python scripts/bench_startup.py --before /path/to/old/tree

Prints wall seconds (median of --repeat) and CPU seconds (user + sys of the child, less sensitive to a busy
machine), and the ratio before/after.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(tree: Path, args: list[str], env: dict) -> tuple[float, float]:
    """(wall, cpu) seconds of `python -m evalkit ARGS` run in `tree`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "evalkit", *args], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", **env})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: evalkit {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(tree: Path, repeat: int, scratch: Path) -> dict[str, tuple[float, float]]:
    rows: dict[str, tuple[float, float]] = {}
    for label, args in [("evalkit --help", ["--help"]), ("evalkit compare --help", ["compare", "--help"])]:
        runs = [timed(tree, args, {}) for _ in range(repeat)]
        rows[label] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
    cache = scratch / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    for label, out in [("first run (empty cache)", scratch / "run1"), ("second run (warm cache)", scratch / "run2")]:
        shutil.rmtree(out, ignore_errors=True)
        wall, cpu = timed(tree, ["reranker=none", f"hydra.run.dir={out}"], {"EVALKIT_CACHE": str(cache)})
        evaluate = json.loads((out / "manifest.json").read_text())["environment"]["wall_seconds"]["evaluate"]
        rows[f"{label}: whole run"] = (wall, cpu)
        rows[f"{label}: evaluate stage"] = (evaluate, float("nan"))
    return rows


def tree_for(ref: str, scratch: Path) -> Path:
    if Path(ref).is_dir():
        return Path(ref)
    path = scratch / "before-tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref], check=True,
                   capture_output=True)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True, help="git ref or directory of the tree to compare against")
    p.add_argument("--repeat", type=int, default=3, help="runs of each help command (median)")
    args = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="evalkit-startup-"))
    before_tree = tree_for(args.before, scratch)
    try:
        results = {"before": measure(before_tree, args.repeat, scratch / "b"),
                   "after": measure(REPO, args.repeat, scratch / "a")}
    finally:
        if before_tree.parent == scratch:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before_tree)],
                           capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"| step | before wall s | after wall s | ratio | before CPU s | after CPU s | (before: {args.before}) |")
    print("|---|---|---|---|---|---|---|")
    for label, (bw, bc) in results["before"].items():
        aw, ac = results["after"][label]
        print(f"| {label} | {bw:.2f} | {aw:.2f} | {bw / aw:.1f}x | {bc:.2f} | {ac:.2f} | |")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
