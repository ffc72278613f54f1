"""A gunicorn config module bench_api adds to the production command: it changes nothing of how
gunicorn serves, and writes each worker's pid to BENCH_READY_FILE once that worker has loaded the
application, so that the bench times workers that are up, not workers still importing."""

import os


def post_worker_init(worker):
    path = os.environ.get("BENCH_READY_FILE")
    if path:
        with open(path, "a") as ready:
            ready.write(f"{os.getpid()}\n")
