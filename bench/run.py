"""`make bench`: run every bench/bench_*.py, one after the other, each printing its figures.

Fails (exit 1) when a bench exits non-zero or prints a missed target (a line starting with
`MISSED:` or `SHORT:`), and lists them at the end."""

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
MISS_MARKS = ("MISSED:", "SHORT:")


def main() -> int:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if not scripts:
        print("no bench/bench_*.py found")
        return 1
    failed = []
    for script in scripts:
        print(f"== {script.relative_to(ROOT)}", flush=True)
        started = time.monotonic()
        misses = []
        with subprocess.Popen(
            [sys.executable, "-u", str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
        ) as process:
            for line in process.stdout:
                print(line, end="", flush=True)
                if line.lstrip().startswith(MISS_MARKS):
                    misses.append(line.strip())
        print(f"== {script.name}: exit {process.returncode} after {time.monotonic() - started:.0f} s\n", flush=True)
        if process.returncode != 0 or misses:
            failed.append((script.name, process.returncode, misses))
    if failed:
        print("failed:")
        for name, code, misses in failed:
            print(f"  {name}: exit {code}" + "".join(f"\n    {miss}" for miss in misses))
        return 1
    print("every bench met its targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
