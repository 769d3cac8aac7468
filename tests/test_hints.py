"""Advice that works: every command the docs and error messages tell a user to run exists, with its options."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from evalkit.app.help import groups
from evalkit.commands import SUBCOMMANDS, parser

REPO = Path(__file__).resolve().parent.parent
TEXTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
         *sorted(p for p in (REPO / "evalkit").rglob("*.py") if "sample_data" not in p.parts)]
GROUPS = groups(REPO / "configs")
COMMANDS = ("evalkit", "hf", "huggingface-cli", "python", "pip")


def hints() -> list[tuple[str, str]]:
    """(where, command): inline `...` spans and lines of ```bash blocks that start with a known command."""
    found = []
    for path in TEXTS:
        text = path.read_text(encoding="utf-8")
        spans = re.findall(r"`([^`\n]+)`", text)
        for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, flags=re.S):
            spans += [line.split("  #")[0] for line in block.splitlines()]
        for span in spans:
            span = span.strip()
            if span.split(" ", 1)[0] in COMMANDS and " " in span:
                found.append((str(path.relative_to(REPO)), span))
    return found


def _words(command: str) -> list[str]:
    command = re.sub(r"\{[^}]*\}", "X", command)    # f-string fields in error messages
    return shlex.split(command.replace("...", "").rstrip("\\ "), posix=True)


@pytest.fixture(scope="module")
def hf_help() -> dict[str, str]:
    return {}


def _hf_help(sub: str, cache: dict) -> str:
    if sub not in cache:
        code = "import sys; from huggingface_hub.cli.hf import main; sys.argv=['hf', sys.argv[1], '--help']; main()"
        done = subprocess.run([sys.executable, "-c", code, sub], capture_output=True, text=True, timeout=120)
        cache[sub] = done.stdout if done.returncode == 0 else ""
    return cache[sub]


def test_hints_are_found():
    commands = [c for _, c in hints()]
    assert any(c.startswith("hf download") for c in commands)
    assert any(c.startswith("evalkit compare") for c in commands)


def test_no_huggingface_cli_anywhere():
    """The huggingface_hub evalkit installs ships `hf` only."""
    assert [w for w, c in hints() if c.startswith("huggingface-cli")] == []
    scripts = {e.name: e.dist.name for e in entry_points(group="console_scripts")}
    assert scripts.get("hf") == "huggingface_hub" and "huggingface-cli" not in scripts


def test_every_hinted_command_exists(hf_help):
    for where, command in hints():
        words = _words(command)
        head, rest = words[0], words[1:]
        if head == "hf":
            help_text = _hf_help(rest[0], hf_help)
            assert help_text, f"{where}: `{command}`: hf has no subcommand {rest[0]!r}"
            for flag in (w.split("=")[0] for w in rest if w.startswith("--")):
                assert flag in help_text, f"{where}: `{command}`: hf {rest[0]} has no option {flag}"
        elif head == "evalkit" and rest and rest[0] in SUBCOMMANDS:
            p = parser(rest[0])
            known = {o for a in p._actions for o in a.option_strings}
            for sub in (a for a in p._actions if a.__class__.__name__ == "_SubParsersAction"):
                known |= {o for sp in sub.choices.values() for a in sp._actions for o in a.option_strings}
            for flag in (w.split("=")[0] for w in rest if w.startswith("--")):
                assert flag in known, f"{where}: `{command}`: evalkit {rest[0]} has no option {flag}"
        elif head == "evalkit":   # pipeline overrides: every group=option names an existing option
            for word in rest:
                group, _, options = word.partition("=")
                if group in GROUPS and not options.startswith("<"):
                    for option in options.split(","):
                        assert option in GROUPS[group], f"{where}: `{command}`: {group} has no option {option!r}"
        elif head == "python" and rest and rest[0].startswith("scripts/"):
            assert (REPO / rest[0]).is_file(), f"{where}: `{command}`: no such script"
        elif head == "python" and rest[:2] == ["-m", "evalkit"]:
            pass
