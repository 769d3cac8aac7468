"""Test servers on 127.0.0.1 only: a real Infinity rerank server (its own venv) and a fault-injecting proxy.

The proxy follows a plan, one action per incoming POST (then "pass" for the rest): pass | 429-retry-after |
429-retry-after-ms | 429-ratelimit-reset | 500 | 503 | drop (close without answering) | slow (sleep, then pass).
It records every POST's arrival time and documents. It answers at most `max_requests` POSTs (then 503) and
stops with the test: loops are bounded in count and time.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("EVALKIT_VENVS", REPO / ".venvs")) / "infinity"
SERVER_TRUNCATION = 256      # the tokenizer's model_max_length in the server's copy of the checkpoint


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_server_checkpoint(path: Path) -> Path:
    """A tiny random XLM-R cross-encoder (bge-reranker-v2-m3's architecture); Infinity truncates at 256 tokens."""
    from evalkit.testing import make_tiny_xlmr

    path = make_tiny_xlmr(path)
    config_file = path / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config["model_max_length"] = SERVER_TRUNCATION
    config_file.write_text(json.dumps(config))
    return path


class Infinity:
    """`infinity_emb v2` serving a local checkpoint on 127.0.0.1 (fp32, CPU, no BetterTransformer, offline)."""

    def __init__(self, model_dir: Path, key: str, log_path: Path, startup_s: float = 300):
        exe = VENV / "bin" / "infinity_emb"
        if not exe.exists():   # the suite installs what it needs: the README's test command alone must pass
            subprocess.run(["bash", str(REPO / "scripts" / "install_infinity.sh")], check=True,
                           env={**os.environ, "EVALKIT_VENVS": str(VENV.parent)})
        self.port, self.key = free_port(), key
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0",
               "OMP_NUM_THREADS": "1"}
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(exe), "v2", "--model-id", str(model_dir), "--engine", "torch", "--device", "cpu", "--dtype",
             "float32", "--no-bettertransformer", "--no-compile", "--no-model-warmup", "--batch-size", "16",
             "--host", "127.0.0.1", "--port", str(self.port), "--api-key", key],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"infinity exited {self.proc.returncode}: {Path(log_path).read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError(f"infinity did not start in {startup_s} s: {Path(log_path).read_text()[-2000:]}")
        self.model_id = httpx.get(self.url + "/models", headers={"authorization": f"Bearer {key}"}).json()["data"][0]["id"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class FaultProxy:
    def __init__(self, upstream: str, plan: list[str] | None = None, *, slow_s: float = 1.5, delay_s: float = 0.0,
                 wait_header: str = "0.2", max_requests: int = 3000, port: int = 0):
        self.upstream, self.plan, self.slow_s, self.delay_s = upstream, list(plan or []), slow_s, delay_s
        self.wait_header, self.max_requests = wait_header, max_requests
        self.arrivals: list[float] = []
        self.posts: list[dict] = []          # every POST body received
        self.answered: list[dict] = []       # bodies answered 200
        self.actions: list[str] = []
        self.fail_after: int | None = None   # answer 503 to every POST after this many
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):   # quiet
                pass

            def _forward(self, method: str, body: bytes | None) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                r = httpx.request(method, proxy.upstream + self.path, content=body, headers=headers, timeout=60)
                self._send(r.status_code, r.content, {"x-compute-tokens": r.headers.get("x-compute-tokens", "")})

            def _send(self, status: int, content: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    if v:
                        self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def do_GET(self):
                self._forward("GET", None)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with proxy.lock:
                    proxy.arrivals.append(time.monotonic())
                    proxy.posts.append(json.loads(body))
                    n = len(proxy.posts)
                    action = proxy.plan.pop(0) if proxy.plan else "pass"
                    if n > proxy.max_requests or (proxy.fail_after is not None and n > proxy.fail_after):
                        action = "503"
                    proxy.actions.append(action)
                error = json.dumps({"message": "injected"}).encode()
                if action.startswith("429"):
                    header = {"429-retry-after": "retry-after", "429-retry-after-ms": "retry-after-ms",
                              "429-ratelimit-reset": "x-ratelimit-reset"}[action]
                    value = str(int(float(proxy.wait_header) * 1000)) if header == "retry-after-ms" else proxy.wait_header
                    return self._send(429, error, {header: value})
                if action in ("500", "503"):
                    return self._send(int(action), error)
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                time.sleep(proxy.slow_s if action == "slow" else proxy.delay_s)
                try:
                    self._forward("POST", body)
                except (BrokenPipeError, ConnectionResetError):   # the client gave up on a slow answer
                    return
                if action == "pass":
                    with proxy.lock:
                        proxy.answered.append(json.loads(body))

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
