"""Security basics: no remote code, no unpickling of untrusted files, no Hydra `_target_` outside evalkit's own
classes (and none a config override can add). File modes under the user's umask: tests/test_storage.py."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from cli_runner import evalkit
from evalkit.errors import EvalkitError

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "evalkit"
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}
UNSAFE_BUILTINS = {"eval", "exec"}                       # called by bare name (model.eval() is not this)
UNSAFE_METHODS = {"read_pickle", "unsafe_load", "full_load"}


def findings(source: str, name: str = "<snippet>") -> list[str]:
    """Unsafe deserialisation or remote code in Python source: trust_remote_code not literally False, pickle-family
    imports, torch.load without weights_only=True, numpy allow_pickle=True, yaml.load without SafeLoader,
    eval/exec, pandas read_pickle."""
    out = []
    for node in ast.walk(ast.parse(source)):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            bad = [n for n in names if n.split(".")[0] in UNSAFE_MODULES]
            if bad:
                out.append(f"{where}: imports {bad}")
        if isinstance(node, ast.keyword):
            literal = isinstance(node.value, ast.Constant)
            if node.arg == "trust_remote_code" and not (literal and node.value.value is False):
                out.append(f"{where}: trust_remote_code={ast.unparse(node.value)}")
            if node.arg == "allow_pickle" and not (literal and node.value.value is False):
                out.append(f"{where}: allow_pickle={ast.unparse(node.value)}")
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = ast.unparse(func.value) if isinstance(func, ast.Attribute) else ""
            kwargs = {k.arg: k.value for k in node.keywords}
            if (isinstance(func, ast.Name) and called in UNSAFE_BUILTINS) or \
                    (isinstance(func, ast.Attribute) and called in UNSAFE_METHODS):
                out.append(f"{where}: {ast.unparse(func)}()")
            if called == "load" and owner == "torch":
                safe = kwargs.get("weights_only")
                if not (isinstance(safe, ast.Constant) and safe.value is True):
                    out.append(f"{where}: torch.load without weights_only=True")
            if called == "load" and owner == "yaml":
                loader = kwargs.get("Loader")
                if loader is None or "Safe" not in ast.unparse(loader):
                    out.append(f"{where}: yaml.load without a SafeLoader")
            if called == "instantiate":
                out.append(f"{where}: hydra instantiate() of config data")
    return out


def test_the_scanner_catches_each_pattern():
    bad = """
import pickle
from joblib import load
AutoModel.from_pretrained(p, trust_remote_code=True)
AutoModel.from_pretrained(p, trust_remote_code=flag)
torch.load(f)
torch.load(f, weights_only=False)
np.load(f, allow_pickle=True)
yaml.load(text)
pd.read_pickle(f)
eval(s)
hydra.utils.instantiate(cfg.model)
"""
    assert len(findings(bad)) == 11
    good = "torch.load(f, map_location='cpu', weights_only=True)\nnp.load(f, mmap_mode='r')\nyaml.safe_load(t)\n" \
           "AutoModel.from_pretrained(p, trust_remote_code=False)\nmodel.eval()\n"
    assert findings(good) == []


def test_package_has_no_remote_code_or_unpickling():
    problems = []
    for file in sorted(PACKAGE.rglob("*.py")):
        problems += findings(file.read_text(encoding="utf-8"), str(file.relative_to(REPO)))
    assert problems == []


def hydra_targets(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_":
                yield path, value
            yield from hydra_targets(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for item in node:
            yield from hydra_targets(item, path)


def test_config_targets_are_evalkit_classes_only():
    targets = [(f"{file.relative_to(REPO)}:{where}", value) for file in sorted((REPO / "configs").rglob("*.yaml"))
               for where, value in hydra_targets(yaml.safe_load(file.read_text()) or {})]
    assert targets, "configs/config.yaml names the sweep callback"
    outside = [(where, value) for where, value in targets if not str(value).startswith("evalkit.")]
    assert outside == []
    import importlib

    for _, value in targets:          # and each is a class that exists in evalkit
        module, name = value.rsplit(".", 1)
        assert isinstance(getattr(importlib.import_module(module), name), type), value


@pytest.mark.parametrize("override", ["+reranker._target_=os.system", "+benchmark._target_=builtins.eval",
                                      "+candidates.bm25._target_=subprocess.call", "hydra.launcher._target_=os.system",
                                      "+hydra.callbacks.x._target_=builtins.exec"])
def test_a_target_cannot_be_added_to_evalkit_config_groups(override, capsys):
    from evalkit.cli import preflight
    from evalkit.app.schema import register

    register()
    with pytest.raises(SystemExit) as exc:
        preflight([override])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("evalkit: error: bad configuration:") and "_target_" in err and err.count("\n") == 1


def test_the_default_config_and_hydra_launchers_pass_the_target_check():
    """Hydra's own launcher classes are allowed under hydra.*, nowhere else; the plain config passes."""
    from evalkit.config import check_targets

    check_targets({"hydra": {"launcher": {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}},
                   "reranker": {"name": "gte"}})
    for bad in ({"hydra": {"launcher": {"_target_": "os.system"}}},
                {"reranker": {"_target_": "hydra._internal.utils.run_and_report"}}):
        with pytest.raises(ValueError, match="_target_"):
            check_targets(bad)


def test_preflight_accepts_the_default_config(capsys):
    from evalkit.cli import preflight
    from evalkit.app.schema import register

    register()
    preflight([])                                   # no SystemExit: the composed hydra node passes
    preflight(["hydra/launcher=joblib_local"])
    assert capsys.readouterr().err == ""


def remote_code_checkpoint(path: Path, marker: Path, model_type: str) -> Path:
    """A checkpoint whose config needs its own modeling code; importing that code would create `marker`."""
    from evalkit.testing import make_tiny_gte

    make_tiny_gte(path, fmt="native")
    config = json.loads((path / "config.json").read_text())
    config.update(model_type=model_type, architectures=["EvilModel"],
                  auto_map={"AutoConfig": "configuration_evil.EvilConfig", "AutoModel": "modeling_evil.EvilModel",
                            "AutoModelForSequenceClassification": "modeling_evil.EvilModel"})
    (path / "config.json").write_text(json.dumps(config))
    code = f"from pathlib import Path\nPath({str(marker)!r}).write_text('remote code ran')\n"
    for name in ("configuration_evil.py", "modeling_evil.py"):
        (path / name).write_text(code)
    return path


def test_checkpoint_needing_remote_code_is_refused_and_never_runs(tmp_path):
    from evalkit.models.loading import load_cross_encoder, load_encoder

    marker = tmp_path / "RAN"
    model = remote_code_checkpoint(tmp_path / "evil", marker, "evil_model")
    for load in (load_cross_encoder, load_encoder):
        with pytest.raises(EvalkitError, match="remote code|repository code"):
            load(str(model))
    assert not marker.exists()


def test_remote_code_checkpoint_through_the_cli_is_one_line(tmp_path):
    marker = tmp_path / "RAN"
    model = remote_code_checkpoint(tmp_path / "evil", marker, "evil_model")
    proc = evalkit("reranker=hf", f"reranker.model={model}", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path,
                   env={"PATH": "/usr/bin:/bin", "HOME": tmp_path, "EVALKIT_CACHE": tmp_path / "cache"},
                   inherit_env=False, timeout=600)   # nothing inherited: PYTHONPATH and HF_HUB_OFFLINE=1 added
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("evalkit: error:") and ("remote code" in last or "repository code" in last) and "Traceback" not in proc.stderr
    assert not marker.exists()
