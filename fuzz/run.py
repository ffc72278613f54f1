"""`make fuzz`: the long runs of hostile input.

1. The hypothesis tests of the normaliser and the parsers with FUZZ_SCALE times their examples.
2. schemathesis, every phase (examples, coverage, fuzzing, stateful), against gunicorn on its own
   PostgreSQL database: no 500, and every response as the schema says.

Knobs: FUZZ_SCALE (hypothesis examples multiplier, 10), FUZZ_EXAMPLES (schemathesis examples per
operation, 200), FUZZ_MAX_SECONDS (schemathesis time budget, 600).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load.stack import BIN, PY, ROOT, Stack, say  # noqa: E402

SCALE = os.environ.get("FUZZ_SCALE", "10")
EXAMPLES = os.environ.get("FUZZ_EXAMPLES", "200")
MAX_SECONDS = os.environ.get("FUZZ_MAX_SECONDS", "600")
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def hypothesis_run() -> tuple[bool, str]:
    env = dict(os.environ, HYPOTHESIS_SCALE=SCALE)
    env.pop("DATABASE_URL", None)
    started = time.monotonic()
    result = subprocess.run(
        [PY, "-m", "pytest", "tests/test_normaliser_hypothesis.py", "-q", "-p", "no:randomly"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    last = (result.stdout.strip().splitlines() or ["no output"])[-1]
    return result.returncode == 0, f"{last} ({time.monotonic() - started:.0f} s, examples x{SCALE})"


def schemathesis_run() -> tuple[bool, str]:
    stack = Stack("fuzz", redis_db=14)
    try:
        stack.fresh_database()
        key = stack.api_key("fuzz")
        stack.manage(
            "shell",
            "-c",
            "from audiences.models import Member; "
            "[Member.objects.create(mobile=f'+1415555{n:04d}') for n in range(100, 110)]",
        )
        stack.start_web()
        schema_file = stack.log_dir / "openapi.json"
        schema_file.write_text(stack.manage("spectacular", "--format", "openapi-json"))
        started = time.monotonic()
        report = stack.log_dir / "schemathesis.txt"
        result = subprocess.run(
            [
                str(BIN / "schemathesis"),
                "run",
                str(schema_file),
                "--url",
                stack.base_url,
                "-H",
                f"X-VoltMX-App-API-Key: {key}",
                "--checks",
                CHECKS,
                "--max-examples",
                EXAMPLES,
                "--max-time",
                MAX_SECONDS,
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--continue-on-failure",
                "--suppress-health-check",
                "all",
                "--request-timeout",
                "30",
            ],
            cwd=ROOT,
            env=stack.env,
            capture_output=True,
            text=True,
            check=False,
        )
        report.write_text(result.stdout + result.stderr)
        summary = [line for line in result.stdout.splitlines() if line.strip()][-12:]
        print("\n".join(summary))
        return result.returncode == 0, (
            f"exit {result.returncode} after {time.monotonic() - started:.0f} s, "
            f"{EXAMPLES} examples per operation; full report in {report}"
        )
    finally:
        stack.stop()


def main() -> int:
    say(f"fuzz ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores)")
    ok_h, text_h = hypothesis_run()
    say(f"  hypothesis, normaliser and parsers: {'PASS' if ok_h else 'FAIL'}: {text_h}")
    ok_s, text_s = schemathesis_run()
    say(f"  schemathesis against gunicorn: {'PASS' if ok_s else 'FAIL'}: {text_s}")
    say("fuzz: PASS" if ok_h and ok_s else "fuzz: FAIL")
    return 0 if ok_h and ok_s else 1


if __name__ == "__main__":
    sys.exit(main())
