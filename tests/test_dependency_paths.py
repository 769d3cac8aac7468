"""The optional-dependency paths tests/test_dependencies.py leaves out, each with its dependency hidden: the Hydra
launchers by their plugin names (slurm_gpu is tested there), benchmark=irds, an extra met inside a --multirun job (which skips the preflight), and the
explorer, which needs no browser at all (only its tests drive one)."""
from __future__ import annotations

import pytest

from cli_runner import REPO, evalkit
from test_dependencies import BARE_PATH, HIDER

SLURM_PIP = 'pip install -e ".[slurm]"'
CASES = {
    "joblib": (["--multirun", "hydra/launcher=joblib_local"], "hydra_plugins.hydra_joblib_launcher",
               "hydra/launcher=joblib_local needs hydra-joblib-launcher (pip install hydra-joblib-launcher)"),
    "ray-launcher": (["--multirun", "hydra/launcher=ray_cluster"], "hydra_plugins.hydra_ray_launcher,ray",
                     "hydra/launcher=ray_cluster needs hydra-ray-launcher, ray (pip install hydra-ray-launcher ray)"),
    "submitit-slurm": (["--multirun", "hydra/launcher=submitit_slurm"], "hydra_plugins.hydra_submitit_launcher",
                       f"hydra/launcher=submitit_slurm needs hydra-submitit-launcher ({SLURM_PIP}) and sbatch "
                       "(apt-get install slurm-client)"),
    "submitit-local": (["--multirun", "hydra/launcher=submitit_local"], "hydra_plugins.hydra_submitit_launcher",
                       f"hydra/launcher=submitit_local needs hydra-submitit-launcher ({SLURM_PIP})"),
}


@pytest.fixture(scope="module")
def hider(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hide")
    (folder / "sitecustomize.py").write_text(HIDER)
    return folder


def _run(args, hidden, hider, tmp_path, path=None):
    env = {"PYTHONPATH": f"{REPO}:{hider}", "HIDE_MODULES": hidden, "EVALKIT_CACHE": tmp_path / "cache"}
    if path:
        env["PATH"] = path
    return evalkit(*args, "reranker=none", f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                   env=env, timeout=300)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_launcher_without_its_plugin_is_one_line_and_exit_2(case, hider, tmp_path):
    args, hidden, expected = CASES[case]
    done = _run(args, hidden, hider, tmp_path, BARE_PATH)
    assert (done.returncode, done.stderr) == (2, f"evalkit: error: {expected}\n"), done.stderr[-2000:]
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "cache").exists()


def test_irds_without_ir_datasets_is_one_line_and_exit_2(hider, tmp_path):
    done = _run(["benchmark=irds", "benchmark.id=a/b/dev"], "ir_datasets", hider, tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith("evalkit: error: benchmark=irds needs ") and "ir_datasets" in done.stderr
    assert "[irds]" in done.stderr and not (tmp_path / "run").exists()


def test_an_extra_met_in_a_multirun_job_is_its_line_and_exit_2(hider, tmp_path):
    """--multirun skips the preflight: the job's own check names the extra, and the sweep is marked unfinished."""
    done = _run(["--multirun", "executor=ray"], "ray", hider, tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert lines[-2] == 'evalkit: error: executor=ray needs ray (pip install -e ".[ray]")'
    assert lines[-1].startswith("evalkit: sweep job 0 failed") and (tmp_path / "sweep" / "FAILED.txt").is_file()
    assert not (tmp_path / "cache").exists()


def test_the_explorer_needs_no_browser(hider, tmp_path):
    """report.formats=[explore] with Playwright hidden and no Chromium on PATH still writes the page."""
    done = _run(["report.formats=[md,explore]"], "playwright", hider, tmp_path, BARE_PATH)
    assert done.returncode == 0, done.stderr[-2000:]
    page = (tmp_path / "run" / "explore.html").read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
