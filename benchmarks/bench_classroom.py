"""Load check of the classroom game: a room of 40 simulated students on one server.

Starts ``agency-sim classroom`` on 127.0.0.1 (a market of 40 brands, learning agencies with two
years of experience, 52-week rounds) and plays it with 40 student threads that poll their page's
JSON every second, as the page does, choose a contract and press Ready; a lecturer thread opens
each round and ends the game. Prints one JSON line per round and one for the debrief:

- ``turnaround_s``: from the last student's Ready to the round's results being served;
- ``me_ms_p50`` / ``me_ms_p95`` / ``me_ms_max``: the students' poll latency during the round
  (while the server runs the market in a thread);
- ``rss_mb`` / ``peak_rss_mb``: the server process's resident memory now and at its peak (Linux).

    python benchmarks/bench_classroom.py [--students 40] [--rounds 5] [--weeks 52] [--timeout 300]

Every wait has a deadline (``--timeout`` seconds: the server's start, each round, the debrief):
a student thread that dies (its error is printed) or a server that stops answering ends the
benchmark with a message and exit status 1, never a hang.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    req = urllib.request.Request(base + path, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def memory_mb(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class BenchError(RuntimeError):
    """The benchmark cannot go on (a deadline passed, a student thread died, the server stopped)."""


def wait_until(condition, what: str, timeout: float, check=lambda: None, pause: float = 0.02):
    """Poll ``condition()`` until it is true (returned); ``check()`` may raise; past ``timeout``
    seconds a BenchError names ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        check()
        if value := condition():
            return value
        if time.monotonic() > deadline:
            raise BenchError(f"no {what} within {timeout:.0f} s")
        time.sleep(pause)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--consumers", type=int, default=10_000)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds any one wait may take (default 300)")
    args = ap.parse_args()

    port, state = free_port(), tempfile.mkdtemp(prefix="bench-classroom-")
    cmd = [sys.executable, "-m", "experiments.cli", "classroom", "--port", str(port), "--state-dir", state]
    cmd += ["--brands", str(args.students), "--weeks", str(args.weeks), "--rounds", str(args.rounds)]
    cmd += ["--set", f"n_consumers={args.consumers}"]
    log = Path(state) / "server.out"
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    errors: list[str] = []  # what killed a student thread
    stop, lock = threading.Event(), threading.Lock()

    def server_alive() -> None:
        if proc.poll() is not None:
            raise BenchError(f"the server exited with {proc.returncode}:\n{log.read_text()}")

    def lecturer_view():
        try:
            return call(base, f"/api/{room}/lecturer", headers=lect)
        except OSError:
            return None

    try:
        wait_until(lambda: "lecturer#" in log.read_text(), "lecturer link printed", args.timeout, server_alive, 0.1)
        text = log.read_text()
        room = text.split("Room code ")[1].split()[0]
        lect = {"X-Lecturer-Token": text.split("lecturer#")[1].split()[0]}
        wait_until(lecturer_view, "answer from the server", args.timeout, server_alive, 0.1)

        tokens = [call(base, f"/api/{room}/join", {"name": f"student {i:02d}"})["token"] for i in range(args.students)]
        latencies: list[tuple[float, float]] = []  # (when, seconds) of each poll
        ready_at: list[float] = []

        def student(i: int, token: str) -> None:
            try:
                play(i, token)
            except Exception as exc:  # noted, and the main thread stops the benchmark
                with lock:
                    errors.append(f"student {i:02d}: {exc!r}")

        def play(i: int, token: str) -> None:
            rng = random.Random(i)
            chosen = set()
            h = {"X-Token": token}
            while not stop.is_set():
                t = time.perf_counter()
                view = call(base, f"/api/{room}/me", headers=h)
                with lock:
                    latencies.append((t, time.perf_counter() - t))
                if view["state"] == "deciding" and view["round"] not in chosen:
                    time.sleep(rng.uniform(0, 2))  # students decide at different times
                    terms = {"commission_rate": rng.choice([0.05, 0.08, 0.15, 0.30]), "base_fee": 50_000.0}
                    call(base, f"/api/{room}/choice", {"terms": terms, "ready": True}, h)
                    with lock:
                        ready_at.append(time.perf_counter())
                    chosen.add(view["round"])
                stop.wait(1.0)

        threads = [threading.Thread(target=student, args=(i, t), daemon=True) for i, t in enumerate(tokens)]
        for t in threads:
            t.start()

        def healthy() -> None:
            server_alive()
            if errors:
                raise BenchError("a student thread died: " + "; ".join(errors))
            if not stop.is_set() and not all(t.is_alive() for t in threads):
                raise BenchError("a student thread ended early")

        for r in range(1, args.rounds + 1):
            ready_at.clear()
            opened = time.perf_counter()
            call(base, f"/api/{room}/control", {"action": "open_round", "timer_s": 0}, lect)

            def round_done(r=r):
                view = call(base, f"/api/{room}/lecturer", headers=lect)
                return view if view["played"] == r and not view["computing"] else None

            view = wait_until(round_done, f"results of round {r}", args.timeout, healthy)
            done = time.perf_counter()
            last_ready = max(ready_at)
            during = sorted(s for when, s in latencies if last_ready <= when <= done) or [float("nan")]
            rss, hwm = memory_mb(proc.pid)
            print(
                json.dumps(
                    {
                        "case": "round",
                        "round": r,
                        "students": args.students,
                        "weeks_run": r * args.weeks,
                        "turnaround_s": round(done - last_ready, 3),
                        "round_wall_s": round(done - opened, 3),
                        "me_ms_p50": round(1000 * during[len(during) // 2], 1),
                        "me_ms_p95": round(1000 * during[int(len(during) * 0.95)], 1),
                        "me_ms_max": round(1000 * during[-1], 1),
                        "polls_during": len(during),
                        "rss_mb": round(rss, 1),
                        "peak_rss_mb": round(hwm, 1),
                    }
                ),
                flush=True,
            )
        if view["state"] != "debrief":
            call(base, f"/api/{room}/control", {"action": "end"}, lect)
        t = time.perf_counter()
        wait_until(
            lambda: not call(base, f"/api/{room}/debrief", headers=lect).get("computing", True),
            "debrief",
            args.timeout,
            server_alive,
            0.05,
        )
        rss, hwm = memory_mb(proc.pid)
        size = (Path(state) / f"{room}.json").stat().st_size
        print(
            json.dumps(
                {
                    "case": "debrief",
                    "students": args.students,
                    "seconds": round(time.perf_counter() - t, 3),
                    "rss_mb": round(rss, 1),
                    "peak_rss_mb": round(hwm, 1),
                    "game_file_kb": round(size / 1024, 1),
                }
            ),
            flush=True,
        )
        stop.set()
    except BenchError as exc:
        stop.set()
        sys.exit(f"bench_classroom: {exc}")
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
