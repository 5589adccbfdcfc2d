#!/usr/bin/env python3
"""The load test: clinicians doing the referral journey on gunicorn.

It needs locust (``pip install -e ".[bench]"``) and a database of generated data; each simulated
user is one generated clinician, spread over the clinics (``--accounts FILE`` names them
instead). All on loopback, it starts gunicorn as production runs it but with REQUIRE_MFA=0 (a
load test has no authenticator app), DEBUG=0, HTTPS_ONLY=0, STATIC_MANIFEST=0 and a random
SECRET_KEY; runs ``scale/locustfile.py`` headless; samples each worker's memory and CPU time
every 0.5 s; stops both, also on an error or Ctrl-C; and writes the JSON report, with how busy
the machine was, since it may be shared. Exits 1 when any request failed, the journey code
raised, or the server did not start.

Workers: 4 by default on a 2-core machine. A sync worker serves one request at a time and spends
part of it waiting for PostgreSQL, so two per core keep both cores busy; the usual 2 x cores + 1
assumes the database on another machine, and here PostgreSQL and locust share the two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess  # nosec B404
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

# subprocess starts gunicorn, locust and a Python child, always with argument lists, no shell.
BASE_DIR = Path(__file__).resolve().parent.parent
LOCUSTFILE = BASE_DIR / "scale" / "locustfile.py"
DEFAULT_WORKERS = 4
SAMPLE_EVERY = 0.5  # seconds between memory samples
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HEALTH_TIMEOUT = 60  # seconds gunicorn has to answer /healthz
TOP_FAILURES = 5
WAIT_DEFAULT = "1,3"


class LoadTestError(Exception):
    """The run could not be made (no server, no users, no locust); the message says why."""


# --- arguments ---------------------------------------------------------------------------------


def parse_duration(text: str) -> int:
    """A duration ("120s", "2m", "1m30s" or "90") in seconds."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 120s, 2m or 1m30s)")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_wait(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    try:
        pair = float(low), float(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not 'min,max' seconds: {text!r}") from None
    if not 0 <= pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError(f"need 0 <= min <= max: {text!r}")
    return pair


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="the PostgreSQL database to load")
    parser.add_argument("--json", required=True, type=Path, help="where to write the report")
    parser.add_argument("--users", type=int, default=50, help="simulated clinicians (50)")
    parser.add_argument("--duration", type=parse_duration, default=120, help="e.g. 120s, 2m")
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=2.0,
        help="users started per second (2: 50 users in 25 s). Each sign-in costs the server a "
        "third of a second of CPU (the password hash), so 2 a second take 0.7 of a core while "
        "the first users already work; 5 a second would take both cores for 10 s",
    )
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn workers")
    parser.add_argument(
        "--wait", type=parse_wait, default=parse_wait(WAIT_DEFAULT), help="min,max s between steps"
    )
    parser.add_argument("--accounts", type=Path, help="JSON: password and usernames to use")
    parser.add_argument(
        "--until-every-step",
        action="store_true",
        help="a smoke run: stop once every step of the journey was asked for (at most "
        "--duration); the figures then describe a few journeys, not a load",
    )
    args = parser.parse_args(argv)
    if args.users < 1 or args.workers < 1 or args.spawn_rate <= 0 or args.duration < 1:
        parser.error("--users, --workers, --spawn-rate and --duration must be positive")
    return args


# --- the database: who signs in ----------------------------------------------------------------


def app_environment(database_url: str) -> dict[str, str]:
    """The variables the server runs with (and this script, to read the users)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "REQUIRE_MFA": "0",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "HTTPS_ONLY": "0",
        "STATIC_MANIFEST": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }


def clinician_order(username: str) -> tuple[int, int, str]:
    """clin-007-02 → (2, 7): every clinic's first clinician, then every clinic's second..."""
    match = re.fullmatch(r"clin-(\d+)-(\d+)", username)
    return (int(match[2]), int(match[1]), username) if match else (10**9, 10**9, username)


def generated_accounts(env: dict[str, str], users: int) -> dict:
    """The generated clinicians to sign in as, read in a child process (Django's settings)."""
    code = (
        "import django, json; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from accounts.models import Role\n"
        "names = list(get_user_model().objects.filter(is_active=True, clinic__isnull=False,"
        " username__startswith='clin-', groups__name=Role.CLINICIAN)"
        ".values_list('username', flat=True))\n"
        "try:\n"
        "    from scale.services.generator import STAFF_PASSWORD\n"
        "except ImportError:\n"
        "    STAFF_PASSWORD = None\n"
        "dataset = None\n"
        "try:\n"
        "    from scale.models import ScaleDataset\n"
        "    row = ScaleDataset.objects.order_by('-generated_at').first()\n"
        "    if row is not None:\n"
        "        dataset = {'scale': row.scale, 'seed': row.seed, 'as_of': str(row.as_of)}\n"
        "except Exception:\n"
        "    pass\n"
        "print(json.dumps({'usernames': names, 'password': STAFF_PASSWORD, 'dataset': dataset}))\n"
    )
    done = subprocess.run(  # noqa: S603  # nosec B603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise LoadTestError(f"could not read the clinicians: {done.stderr.strip()[-1500:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if not found["usernames"]:
        raise LoadTestError(
            "no generated clinicians (clin-<clinic>-<n>) in the database: "
            "run manage.py generate_scale_data first, or pass --accounts"
        )
    if not found["password"]:
        raise LoadTestError("scale.services.generator.STAFF_PASSWORD is missing: pass --accounts")
    names = sorted(found["usernames"], key=clinician_order)[:users]
    return {"password": found["password"], "usernames": names, "dataset": found["dataset"]}


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen | None, grace: float = 15) -> None:
    """SIGTERM (gunicorn and locust both stop cleanly on it), then SIGKILL after ``grace``."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_healthy(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LoadTestError(f"gunicorn exited ({server.returncode}): {tail(log)}")
        try:
            # A fixed http://127.0.0.1 address of our own server.
            probe = urllib.request.urlopen(base + "/healthz", timeout=2)  # noqa: S310  # nosec B310
            with probe as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise LoadTestError(f"gunicorn did not answer /healthz in {HEALTH_TIMEOUT} s: {tail(log)}")


def tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --- memory ------------------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone since the listing
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses; split after it.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used, from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


class WorkerSampler(threading.Thread):
    """Every ``SAMPLE_EVERY`` s, each worker's resident memory (first, max, last) and CPU time.

    The CPU time the workers used, per request, measures the application's own cost apart from
    whatever else the machine runs at the same time (response times do not: they include
    waiting for a core).
    """

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.workers: dict[int, dict] = {}
        self.samples = 0
        self.done = threading.Event()

    def sample(self) -> None:
        for pid in children_of(self.master_pid):
            kib, cpu = rss_kib(pid), cpu_seconds(pid)
            if kib is None or cpu is None:
                continue
            seen = self.workers.setdefault(
                pid, {"start_kib": kib, "max_kib": kib, "start_cpu": cpu}
            )
            seen["max_kib"] = max(seen["max_kib"], kib)
            seen["end_kib"], seen["end_cpu"] = kib, cpu
        self.samples += 1

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY):
            self.sample()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)

    def cpu_used(self) -> float:
        return sum(seen["end_cpu"] - seen["start_cpu"] for seen in self.workers.values())

    def report(self) -> list[dict]:
        return [
            {
                "pid": pid,
                "rss_start_mib": mib(seen["start_kib"]),
                "rss_max_mib": mib(seen["max_kib"]),
                "rss_end_mib": mib(seen["end_kib"]),
                "cpu_s": round(seen["end_cpu"] - seen["start_cpu"], 2),
            }
            for pid, seen in sorted(self.workers.items())
        ]


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def server_errors(log: Path) -> list[str]:
    """The first lines gunicorn or Django logged at ERROR or worse (a 500, a worker timeout)."""
    lines = tail(log, 200_000).splitlines()
    return [line[:300] for line in lines if re.search(r"\b(ERROR|CRITICAL)\b", line)][:5]


# --- the run -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict:
    env = app_environment(args.database_url)
    if args.accounts:
        accounts = json.loads(args.accounts.read_text(encoding="utf-8"))
        accounts.setdefault("dataset", None)
    else:
        accounts = generated_accounts(env, args.users)
    if len(accounts["usernames"]) < args.users:
        print(
            f"note: {len(accounts['usernames'])} clinicians for {args.users} users; "
            "some clinicians are signed in more than once",
            file=sys.stderr,
        )

    with tempfile.TemporaryDirectory(prefix="loadtest-") as scratch:
        scratch = Path(scratch)
        accounts_file = scratch / "accounts.json"
        accounts_file.write_text(
            json.dumps({"password": accounts["password"], "usernames": accounts["usernames"]})
        )
        accounts_file.chmod(0o600)
        results_file = scratch / "results.json"
        server_log = scratch / "gunicorn.log"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        gunicorn_cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ]
        locust_cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--host",
            base,
            "-u",
            str(args.users),
            "-r",
            str(args.spawn_rate),
            "-t",
            f"{args.duration}s",
            "--only-summary",
            "--stop-timeout",
            "0",
            "--loglevel",
            "WARNING",
        ]
        locust_env = {
            **os.environ,
            "LOADTEST_ACCOUNTS": str(accounts_file),
            "LOADTEST_WAIT": f"{args.wait[0]},{args.wait[1]}",
            "LOADTEST_RESULTS": str(results_file),
            "LOADTEST_UNTIL_EVERY_STEP": "1" if args.until_every_step else "0",
        }
        server = locust = sampler = None
        started = datetime.now(UTC)
        # The machine is shared with whatever else runs: say how busy it was when this began.
        load_before = [round(figure, 2) for figure in os.getloadavg()]
        pressure_before = cpu_pressure()
        try:
            with server_log.open("wb") as log:
                # Its own session: a Ctrl-C reaches this script, which stops gunicorn itself.
                server = subprocess.Popen(  # noqa: S603  # nosec B603
                    gunicorn_cmd,
                    cwd=BASE_DIR,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            wait_until_healthy(base, server, server_log)
            sampler = WorkerSampler(server.pid)
            sampler.sample()  # the workers as started, before the first user
            sampler.start()
            locust = subprocess.Popen(  # noqa: S603  # nosec B603
                locust_cmd, cwd=BASE_DIR, env=locust_env, start_new_session=True
            )
            began = time.monotonic()
            try:
                locust.wait(timeout=args.duration + 120)
            except subprocess.TimeoutExpired:
                raise LoadTestError("locust did not stop in time") from None
            ran = time.monotonic() - began
            sampler.sample()
            pressure_after = cpu_pressure()
        finally:
            if sampler is not None:
                sampler.stop()
            stop(locust)
            stop(server)
        if not results_file.exists():
            raise LoadTestError(f"locust ended ({locust.returncode}) without its results")
        results = json.loads(results_file.read_text(encoding="utf-8"))
        server_problems = server_errors(server_log)

    total = results["total"]
    workers = sampler.report()
    return {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": load_before,
        # Linux's CPU pressure: the share of the last 60 s in which some runnable task waited
        # for a core (before the run, and at its end). Near 100, the figures below measure the
        # machine's contention as much as the application.
        "cpu_pressure_avg60": {"before": pressure_before, "end": pressure_after},
        "dataset": accounts.get("dataset"),
        "users": args.users,
        # Distinct clinicians signed in (fewer than users when the data has fewer clinicians).
        "clinicians": min(args.users, len(set(accounts["usernames"]))),
        "duration_s": args.duration,
        "ran_s": round(ran, 1),  # locust's whole run: start-up, ramp-up, duration, stop
        "spawn_rate": args.spawn_rate,
        "wait_time": f"between {args.wait[0]:g} and {args.wait[1]:g} s (uniform) between steps",
        "requests": total["requests"],
        "rps": total["rps"],
        "p50_ms": total["p50_ms"],
        "p95_ms": total["p95_ms"],
        "pages_without_sign_in": results["pages_without_sign_in"],
        "failures": total["failures"],
        "failure_details": results["failures"][:TOP_FAILURES],
        "errors": sum(row["count"] for row in results["exceptions"]),
        "error_details": results["exceptions"][:TOP_FAILURES],
        "server_errors": server_problems,
        "journeys": results["journeys"],
        "steps_not_requested": results["steps_not_requested"],
        "endpoints": [
            {key: page[key] for key in ("name", "requests", "failures", "p50_ms", "p95_ms")}
            for page in results["endpoints"]
        ],
        "workers": args.workers,
        "worker_memory": workers,
        "worker_rss_start_mib": max((w["rss_start_mib"] for w in workers), default=None),
        "worker_rss_max_mib": max((w["rss_max_mib"] for w in workers), default=None),
        "memory_samples": sampler.samples,
        "worker_cpu_s": round(sampler.cpu_used(), 1),
        "worker_cpu_ms_per_request": (
            round(1000 * sampler.cpu_used() / total["requests"], 1) if total["requests"] else None
        ),
        "gunicorn_cmd": " ".join(["gunicorn", *gunicorn_cmd[3:]]),
        "locust_cmd": " ".join(["locust", *locust_cmd[3:]]).replace(str(BASE_DIR) + "/", ""),
    }


def cpu_pressure() -> float | None:
    """'some avg60' from /proc/pressure/cpu (Linux 4.20+), or None where there is none."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    match = re.search(r"avg60=([\d.]+)", first)
    return float(match[1]) if match else None


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform}


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = arguments(argv)
    # Ctrl-C and SIGTERM both unwind through run()'s finally, which stops gunicorn and locust
    # (SIGINT set here too: a shell starting this in the background would have it ignored).
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    try:
        report = run(args)
    except LoadTestError as problem:
        print(f"load test failed: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("load test interrupted; gunicorn and locust were stopped", file=sys.stderr)
        return 130
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"{report['requests']} requests, {report['rps']} req/s, p50 {report['p50_ms']:g} ms, "
        f"p95 {report['p95_ms']:g} ms, {report['failures']} failures, {report['errors']} errors; "
        f"worker RSS {report['worker_rss_start_mib']} MiB at start, "
        f"max {report['worker_rss_max_mib']} MiB ({args.workers} workers) → {args.json}"
    )
    return 1 if report["failures"] or report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
