"""The HTML report in a real headless browser (Debian `chromium`): it renders, with no console errors."""
from __future__ import annotations

import os
import shutil
import subprocess

import matplotlib.image
import pytest

from evalkit.report.formats import write_outputs
from test_report_formats import synthetic_comparison

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; CI must `apt-get install -y chromium`")
    pytest.skip("chromium is not installed (outside CI)")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    [path] = write_outputs(synthetic_comparison(), out, ["html"], "compare", title="browser check")
    return path


def _browse(chromium: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def console_messages(done: subprocess.CompletedProcess) -> list[str]:
    """Page console lines (chromium logs them as `...:CONSOLE:...`, errors as "Uncaught ...")."""
    return [line for line in (done.stdout + done.stderr).splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_console_errors_are_detected(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><p>x</p><script>throw new Error("boom")</script></body></html>', encoding="utf-8")
    done = _browse(chromium, tmp_path, f"--screenshot={tmp_path / 'bad.png'}", "--window-size=400,300",
                   "--enable-logging=stderr", "--v=0", bad.as_uri())
    assert any("Uncaught Error: boom" in line for line in console_messages(done))


def test_screenshot_is_not_blank_and_console_is_clean(chromium, page, tmp_path):
    shot = tmp_path / "shot.png"
    done = _browse(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", "--enable-logging=stderr",
                   "--v=0", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert not console_messages(done), console_messages(done)
    image = matplotlib.image.imread(shot)
    assert image.shape[:2] == (2000, 1200)
    assert image[..., :3].std() > 0.05          # a white page has std 0
    dark = (image[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5                    # text and plots drawn, not a black page


def test_dom_holds_the_tables_and_images(chromium, page, tmp_path):
    done = _browse(chromium, tmp_path, "--dump-dom", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<h1>browser check</h1>" in dom and "ndcg@10 per language" in dom
    # protocol + 2 metrics x (languages, differences, buckets, bucket differences) + ceiling + rank stability; 8 plots
    assert dom.count("<table>") == 11 and dom.count('src="data:image/png;base64,') == 8
    assert "gte_rerank" in dom and "bm25_none (baseline)" in dom
