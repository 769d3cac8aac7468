"""The registries: what --help lists without importing equals what is registered; listing and checking every
entry stays light; a clash or an unknown name is one clear error."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evalkit.errors import EvalkitError
from evalkit.registry import POINTS, Registry, outline, registry


@pytest.mark.parametrize("point", sorted(POINTS))
def test_the_source_outline_equals_the_imported_entries(point):
    live = registry(point)
    assert outline(point) == [(e.name, e.help) for e in live.entries()]
    assert all(help for _, help in outline(point)), "every entry's builder has a docstring (shown by --help)"


def test_the_known_entries_are_registered():
    names = {point: set(registry(point).names()) for point in POINTS}
    assert names["benchmark"] >= {"sample", "miracl", "mldr", "mkqa", "local"}
    assert names["candidates"] >= {"bm25", "lucene", "runfile", "dense", "hybrid", "m3"}
    assert names["reranker"] >= {"cross_encoder", "api", "none"}
    assert names["executor"] >= {"local", "ray"}
    assert names["report.formats"] >= {"md", "html", "latex", "csv", "parquet", "explore"}


def test_checking_a_config_imports_no_model_or_jvm_code():
    code = ("import json, sys\n"
            "from evalkit.app.schema import registries, schema\n"
            "from evalkit.app.validate import check_config\n"
            "schema(); [r.names() for r in registries().values()]\n"
            "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'jnius', 'ray', 'httpx', 'matplotlib') "
            "if m in sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_a_name_registered_twice_and_an_unknown_name_are_one_line_errors():
    reg = Registry("toy.name", "evalkit.candidates", "NOTHING_HERE")
    reg.register("a")(lambda: None)
    with pytest.raises(EvalkitError, match="toy.name: 'a' is registered twice"):
        reg.register("a")(lambda: 1)
    with pytest.raises(EvalkitError, match=r"^toy.name='b' is not one of \['a'\]$"):
        reg["b"]
