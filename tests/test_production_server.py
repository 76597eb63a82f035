"""The production command (scripts/serve.sh) answers normal clients while slow ones trickle their headers (P6-9).

A real server process on a free port, real sockets. No durations are asserted: only that the answer comes,
with generous socket timeouts. Measurements are in bench/slow_clients.md.
"""
from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def production_server(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"CHORUS_INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "production-test-" + "x" * 40,
                "CHORUS_BIN": str(BIN), "PORT": str(_free_port())})
    subprocess.run([str(BIN / "flask"), "--app", "app", "chorus", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve.sh")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    port = int(env["PORT"])
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"the server stopped: {proc.stdout.read().decode()}")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _get(port: int, path: str = "/connexion") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_slow_clients_do_not_stall_the_production_server(production_server):
    # P6-9: four clients sending one header line every few seconds stalled `gunicorn app:app` for 30 s.
    port = production_server
    stop, slow = threading.Event(), []

    def trickle(sock):
        for i in itertools.count():
            if stop.wait(2):
                return
            try:
                sock.sendall(f"X-Lent-{i}: a\r\n".encode())
            except OSError:
                return

    for _ in range(8):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.sendall(b"GET /connexion HTTP/1.1\r\nHost: localhost\r\n")
        slow.append(sock)
    threads = [threading.Thread(target=trickle, args=(s,), daemon=True) for s in slow]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)  # the slow clients have started; no duration is measured
        for _ in range(3):
            answer = _get(port)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            assert b"Se connecter" in answer
    finally:
        stop.set()
        for t in threads:
            t.join()
        for s in slow:
            s.close()


def test_production_server_refuses_large_chunked_bodies(production_server):
    # P6-5 through the production server: a chunked body over the limit is refused (413), never cut.
    port = production_server
    for size in (5 * 1024 * 1024 + 512 * 1024, 20 * 1024 * 1024):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
            s.sendall(b"POST /inscription HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n")
            piece = b"x" * 65536
            try:
                for _ in range(size // len(piece)):
                    s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                s.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server may answer and close before the end
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413"), (size, answer[:200])
