"""`make faults`: every fault script, one after the other; each says what it found."""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "kill_worker.py",
    "kill_web_intake.py",
    "restart_redis.py",
    "restart_postgres.py",
    "smsc_drop.py",
    "scheduled_restart.py",
]


def main() -> int:
    print(f"faults ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", flush=True)
    failed = []
    for script in SCRIPTS:
        print(f"== faults/{script}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(HERE / script)], cwd=HERE.parent)
        print(f"== {script}: exit {result.returncode} after {time.monotonic() - started:.0f} s", flush=True)
        if result.returncode:
            failed.append(script)
    print(f"faults: {'PASS' if not failed else 'FAIL: ' + ', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
