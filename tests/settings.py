"""The gateway's settings for the test suite: a SECRET_KEY of its own, since outside DEBUG the
gateway refuses the public development key. Set in the environment, so that the processes the
tests start (workers, gunicorn, manage.py) have it too."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-never-used-in-production-0123456789")

from smsgateway.settings import *  # noqa: E402, F403

# A test's users need no costly hash: the suite makes hundreds of them.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
