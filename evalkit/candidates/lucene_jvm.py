"""The one JVM of this process, with Anserini's fat jar from the Pyserini wheel (pyserini==0.22.1) on its class path.

Only `pyserini.pyclass` (pyjnius + the bundled jar) is imported: Pyserini's search package imports faiss, torch
and its dense encoders at import time, none of which the Lucene path needs. The JVM is started once per
process (pyjnius cannot restart it), so its heap is fixed by the first caller.
"""
from __future__ import annotations

import importlib.metadata as md
import logging
from pathlib import Path
from typing import Any, Callable

from evalkit.errors import EvalkitError
from evalkit.registry import Needs, check_needs, registry

log = logging.getLogger(__name__)
PYSERINI_VERSION = "0.22.1"
WHAT = "candidates=lucene"
LOG4J_CONFIG = Path(__file__).resolve().parent.parent / "assets" / "log4j2-lucene.properties"


def needs() -> Needs:
    """What the Lucene path needs: the `candidates=lucene` entry's own declaration (evalkit/candidates/lucene.py)."""
    return registry("candidates")["lucene"].needs


def install_hint() -> str:
    return f"{needs().install()}, and Java 11+ (apt-get install {needs().programs['java']})"


def missing_requirement() -> str | None:
    """One line of what is missing for the Lucene path (None: nothing); checked without starting the JVM."""
    return needs().problem(WHAT)


def pyserini_version() -> str:
    return md.version("pyserini")


_started: dict[str, Any] = {}   # "autoclass" and "heap" once the JVM runs


def _start(heap: str) -> Callable[[str], Any]:
    import jnius_config

    if not jnius_config.vm_running:
        jnius_config.add_options(f"-Xmx{heap}", f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
                                 "-Dlog4j2.statusLoggerLevel=ERROR")
        _started["heap"] = heap
    else:
        log.warning("the JVM was started before evalkit's Lucene stage: candidates.lucene.heap=%s not applied", heap)
        _started["heap"] = "unknown (JVM started elsewhere)"
    try:
        from pyserini.pyclass import autoclass     # adds the bundled fat jar to the class path, starts the JVM
        autoclass("io.anserini.search.SimpleSearcher")
    except Exception as exc:  # jnius raises plain Exceptions (no JVM, no jar, wrong Java version)
        raise EvalkitError(f"could not start Lucene through Pyserini ({exc.__class__.__name__}: {exc}); "
                           f"install: {install_hint()}") from None
    _started["autoclass"] = autoclass
    return autoclass


def java_class(name: str, heap: str | None = None) -> Any:
    """A Java class of Anserini / Lucene; the first call starts the JVM with -Xmx`heap` (default 4g). Later calls
    get the same JVM: its heap limit cannot change and a second JVM cannot start (said once, if asked)."""
    if "autoclass" in _started:
        if heap is not None and heap != _started["heap"] and not _started.get("warned"):
            _started["warned"] = True
            log.warning("the JVM runs with -Xmx%s; candidates.lucene.heap=%s applies only to a new process",
                        _started["heap"], heap)
        return _started["autoclass"](name)
    check_needs(needs(), WHAT)   # the same check and line as before any work (evalkit/app/validate.py)
    version = pyserini_version()
    if version != PYSERINI_VERSION:
        log.warning("pyserini %s is installed; evalkit's Lucene stage was verified with %s", version, PYSERINI_VERSION)
    return _start(heap or "4g")(name)
