"""Slow clients against a production server command (P6-9), on demand:
`.venv/bin/python bench/slow_clients.py [--slow 0,4,16,64] [--only NAME]`.

Each server is started on a free port with a throw-away instance; N "slowloris" clients each open a
connection and send one header line every 5 s, never finishing; then a normal client asks for
/connexion and we report how long its answer took (or "no answer" after 40 s). Nothing is asserted
here; tests/test_production_server.py checks that the shipped command answers with slow clients around.
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

SERVERS = {
    "gunicorn app:app (sync, README before P6-9)": [str(BIN / "gunicorn"), "--bind", "127.0.0.1:{port}", "app:app"],
    "gunicorn gthread 2 workers x 8 threads": [str(BIN / "gunicorn"), "--bind", "127.0.0.1:{port}", "-k", "gthread",
                                               "--workers", "2", "--threads", "8", "app:app"],
    "scripts/serve.sh (waitress)": ["bash", str(ROOT / "scripts" / "serve.sh")],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def slow_client(port: int, stop: threading.Event, opened: list) -> None:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        opened.append(s)
        s.sendall(b"GET /connexion HTTP/1.1\r\nHost: localhost\r\n")
        i = 0
        while not stop.wait(5):
            s.sendall(f"X-Lent-{i}: a\r\n".encode())
            i += 1
    except OSError:
        pass


def normal_request(port: int, timeout: float = 40) -> float | None:
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"GET /connexion HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            if not data.startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.monotonic() - start


def measure(name: str, command: list[str], counts: list[int]) -> list[tuple[int, float | None]]:
    instance = tempfile.mkdtemp()
    env = {**os.environ, "CHORUS_INSTANCE_PATH": instance, "SECRET_KEY": "bench-" + "x" * 40}
    subprocess.run([str(BIN / "flask"), "--app", "app", "chorus", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    results = []
    for n in counts:
        port = free_port()
        env["PORT"] = str(port)
        proc = subprocess.Popen([part.format(port=port) for part in command], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        stop, opened = threading.Event(), []
        try:
            wait_until_up(port, time.monotonic() + 30)
            normal_request(port)  # warm-up: the first request loads templates
            threads = [threading.Thread(target=slow_client, args=(port, stop, opened), daemon=True) for _ in range(n)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            results.append((n, normal_request(port)))
        finally:
            stop.set()
            for s in opened:
                s.close()
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", default="0,4,16,64")
    parser.add_argument("--only", help="a part of a server's name")
    args = parser.parse_args()
    counts = [int(n) for n in args.slow.split(",")]
    print(f"{'server':46} " + " ".join(f"{str(n) + ' slow':>10}" for n in counts))
    for name, command in SERVERS.items():
        if args.only and args.only not in name:
            continue
        cells = [f"{t * 1000:8.0f}ms" if t is not None else "  no answer" for _, t in measure(name, command, counts)]
        print(f"{name:46} " + " ".join(f"{c:>10}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
