"""`make bench`: run every bench/bench_*.py, one after the other, each printing its figures."""

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def main() -> int:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if not scripts:
        print("no bench/bench_*.py found")
        return 1
    failed = []
    for script in scripts:
        print(f"== {script.relative_to(ROOT)}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT)
        print(f"== {script.name}: exit {result.returncode} after {time.monotonic() - started:.0f} s\n", flush=True)
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
