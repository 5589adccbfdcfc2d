"""docs/PERFORMANCE.md and docs/performance.json from the benchmark's figures: the command line.

``scripts/bench.py`` (``make bench``) calls ``scale.rules.report.build`` with each scale's
``bench_pages`` output, the load test's and this machine's (:func:`machine_info`), then
:func:`write`. ``python -m scale.report docs/performance.json`` writes the markdown again from
the JSON alone (after a change to the rules, say) without measuring anything.

No Django settings: this runs where only the JSON is.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess  # noqa: S404 - git, with fixed arguments
import sys
from dataclasses import asdict
from pathlib import Path

from scale.rules.report import evaluate, markdown

ROOT = Path(__file__).resolve().parent.parent


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _git(*args: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine_info() -> dict:
    """The machine the figures were measured on (PostgreSQL's version comes from the runs)."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    ram_mib = None
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            ram_mib = round(int(line.split()[1]) / 1024)
    if ram_mib is None and hasattr(os, "sysconf"):
        try:
            ram_mib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)
        except (ValueError, OSError):
            ram_mib = None
    os_name = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in _read("/etc/os-release").splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        "",
    )
    try:
        import django

        django_version = django.get_version()
    except ImportError:
        django_version = None
    commit = _git("rev-parse", "HEAD")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_mib": ram_mib,
        "os": " ".join(filter(None, [os_name, platform.platform()])),
        "python": platform.python_version(),
        "django": django_version,
        "git_commit": commit or None,
        "git_uncommitted_changes": bool(_git("status", "--porcelain")) if commit else None,
    }


def write(document: dict, *, json_path: Path, markdown_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown(document), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (1, 2):
        print("usage: python -m scale.report docs/performance.json [docs/PERFORMANCE.md]")
        return 2
    source = Path(args[0])
    target = Path(args[1]) if len(args) == 2 else source.with_name("PERFORMANCE.md")
    document = json.loads(source.read_text(encoding="utf-8"))
    # The verdicts are worked out again: the rules as they are now are the ones that count.
    document["targets"] = [asdict(v) for v in evaluate(document)]
    target.write_text(markdown(document), encoding="utf-8")
    print(f"Wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
