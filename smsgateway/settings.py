"""Settings for smsgateway.

Every knob is an environment variable with a default that works on a bare checkout:
SQLite, a broker that needs no server and the console SMS backend.
"""

from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("SMSGW_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# The development key is public (it is in this file): outside DEBUG the process refuses to start
# with it. `make` gives each checkout a key of its own (var/secret_key); tests set one in
# tests/settings.py. Django's own `check --deploy` names it (security.W009: "django-insecure-").
DEVELOPMENT_SECRET_KEY = "django-insecure-development-key-change-me-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and SECRET_KEY in (DEVELOPMENT_SECRET_KEY, ""):
    raise ImproperlyConfigured(
        "SECRET_KEY is not set: the development default is public. Set SECRET_KEY to a long random "
        "value (python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=true to develop."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here rather than a CDN
    "axes",
    "audiences",
    "messaging",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The admin's and Swagger UI's static files (collectstatic) under gunicorn, with no web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "ops.middleware.RequestIdMiddleware",
    "messaging.api.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username from that address before the password is checked.
AUTHENTICATION_BACKENDS = [
    "smsgateway.auth_backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

ROOT_URLCONF = "smsgateway.urls"
WSGI_APPLICATION = "smsgateway.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite in WAL mode with nothing set, PostgreSQL (or anything) by DATABASE_URL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'smsgateway.sqlite3'}"),
}
# The send path's statements prepared once per connection on PostgreSQL (smsgateway/prepared.py);
# false behind a transaction-mode pooler that does not keep prepared statements (PgBouncer < 1.21).
SMS_PREPARED_STATEMENTS = env.bool("SMS_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    if SMS_PREPARED_STATEMENTS and "postgresql" in DATABASES["default"]["ENGINE"]:
        # Django turns psycopg's preparing off (None); its own cursors bind on the client and never
        # prepare whatever this says, so only smsgateway.prepared's cursor prepares.
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns at start-up when it is missing
# WhiteNoise serves STATIC_ROOT (filled by collectstatic), compressed copies made by collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Security: on by default outside DEBUG; a plain-HTTP local run turns them off by environment.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "messaging.api.authentication.ApiKeyAuthentication",
        "messaging.api.authentication.AccessTokenAuthentication",
        "messaging.api.authentication.GatewayBasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["messaging.api.access.GatewayAccess"],
    "DEFAULT_PARSER_CLASSES": [
        "messaging.api.parsers.LenientJSONParser",
        "messaging.api.parsers.SafeXMLParser",
        "messaging.api.parsers.TextXMLParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "messaging.api.renderers.SmsJSONRenderer",
        "messaging.api.renderers.SmsXMLRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "messaging.api.negotiation.RequestFormatNegotiation",
    "DEFAULT_THROTTLE_CLASSES": ["messaging.api.throttling.ApiKeyRateThrottle"],
    "EXCEPTION_HANDLER": "messaging.api.errors.contract_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "smsgateway.openapi.GatewayAutoSchema",
    "UNAUTHENTICATED_USER": None,
}

# The SMS API's own limits (CONTRACT section 2).
SMS_MAX_BODY_BYTES = env.int("SMS_MAX_BODY_BYTES", default=1024 * 1024)
SMS_MAX_MESSAGES = env.int("SMS_MAX_MESSAGES", default=1000)
SMS_MAX_RECIPIENTS = env.int("SMS_MAX_RECIPIENTS", default=10000)
# Bounds on what a request's segment criteria compile to (audiences/complexity.py): the segment
# conditions of all its criteria together (a term counts its segment's conditions each time it
# names it), and the nesting of one criteria with its segments' definitions.
SMS_MAX_CRITERIA_CONDITIONS = env.int("SMS_MAX_CRITERIA_CONDITIONS", default=2000)
SMS_MAX_CRITERIA_DEPTH = env.int("SMS_MAX_CRITERIA_DEPTH", default=250)
# Safe defaults against SMS pumping for new API keys (each can be changed per key):
# message parts a day (0: unlimited) and the destination countries (ISO codes; empty: any).
SMS_DEFAULT_DAILY_QUOTA_PARTS = env.int("SMS_DEFAULT_DAILY_QUOTA_PARTS", default=10000)
SMS_DEFAULT_ALLOWED_COUNTRIES = [
    code.strip().upper() for code in env.str("SMS_DEFAULT_ALLOWED_COUNTRIES", default="").split(",") if code.strip()
]
# Number types (phonenumbers' PhoneNumberType names) refused unless a key's allowed_number_types
# lists them: premium and shared-cost lines bill the sender, and the others either cannot take a
# text (voicemail, pager) or hide where it goes (UAN, personal numbers, a number of no known type).
SMS_REFUSED_NUMBER_TYPES = env.list(
    "SMS_REFUSED_NUMBER_TYPES",
    default=["PREMIUM_RATE", "SHARED_COST", "UAN", "UNKNOWN", "VOICEMAIL", "PAGER", "PERSONAL_NUMBER"],
)
# Message parts one request may cost (recipients times parts, a segment by its audience); 0: no cap.
# POST /api/v1/message/sms answered without DRF's layers when a partner key sends JSON
# (messaging/api/send_fast.py); false sends every request through the DRF view.
SMS_SEND_FAST_PATH = env.bool("SMS_SEND_FAST_PATH", default=True)
SMS_MAX_PARTS_PER_REQUEST = env.int("SMS_MAX_PARTS_PER_REQUEST", default=100000)
# The longest text personalisation may make of a message (the longest content a request may hold).
SMS_MAX_RENDERED_CHARS = env.int("SMS_MAX_RENDERED_CHARS", default=5000)
SMS_MAX_XML_DEPTH = env.int("SMS_MAX_XML_DEPTH", default=32)
SMS_DEFAULT_REGION = env.str("SMS_DEFAULT_REGION", default="US")
API_KEY_DEFAULT_RATE_PER_MINUTE = env.int("API_KEY_DEFAULT_RATE_PER_MINUTE", default=600000)
# How long a process trusts an API key it has verified, in seconds: a revocation or another change
# made elsewhere takes effect within that time (at once in the process that made it); 0: no cache.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)
# The rows a key's parts of a day are booked on (each with a share of its quota), so that its
# concurrent requests do not wait for each other's commits on one row.
API_KEY_USAGE_SHARDS = env.int("API_KEY_USAGE_SHARDS", default=16)
# How long an access token of GET /api/v1/oauth/accesstoken lives, in seconds.
VOLTMX_ACCESS_TOKEN_SECONDS = env.int("VOLTMX_ACCESS_TOKEN_SECONDS", default=3600)
# Unsafe, for legacy callers that cannot send credentials: serve Fetch All SMS and Get Full
# Content (message texts, personal data) to anyone, every partner's messages, as Volt MX does.
VOLTMX_OPEN_FETCH_APIS = env.bool("VOLTMX_OPEN_FETCH_APIS", default=False)
IDEMPOTENCY_WINDOW_HOURS = env.int("IDEMPOTENCY_WINDOW_HOURS", default=24)
# 0-1023; each process that serves the API on one machine should have its own.
REQUEST_ID_NODE = env.int("REQUEST_ID_NODE", default=-1)
DATA_UPLOAD_MAX_MEMORY_SIZE = SMS_MAX_BODY_BYTES

# Dispatch.
SMS_BACKEND = env.str("SMS_BACKEND", default="messaging.backends.console.ConsoleBackend")
# Options for SMS_BACKEND as JSON, e.g. {"host": "127.0.0.1", "port": 2775, "system_id": "gw"}.
SMS_BACKEND_OPTIONS = env.json("SMS_BACKEND_OPTIONS", default={})
SMS_DEFAULT_SENDER = env.str("SMS_DEFAULT_SENDER", default="SMSGW")
# The public base URL of this gateway, for the providers' status callbacks (e.g. https://sms.example.com).
SMS_CALLBACK_BASE_URL = env.str("SMS_CALLBACK_BASE_URL", default="")
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=500)
DISPATCH_LEASE_SECONDS = env.int("DISPATCH_LEASE_SECONDS", default=120)
# A submitted recipient with no expiry whose receipt has not come after this many hours is expired.
RECEIPT_WAIT_HOURS = env.float("RECEIPT_WAIT_HOURS", default=72.0)
DISPATCH_TASK_SECONDS = env.float("DISPATCH_TASK_SECONDS", default=20.0)
EXPANSION_CHUNK_SIZE = env.int("EXPANSION_CHUNK_SIZE", default=50000)
# Tries of one chunk of a segment message's expansion before it is given up (with its error).
EXPANSION_MAX_ATTEMPTS = env.int("EXPANSION_MAX_ATTEMPTS", default=5)
# Where providers' shared send rates live (messaging.throttle): a Redis URL, "database", or empty to
# use CELERY_BROKER_URL or CACHE_URL when they are Redis, else the database.
THROTTLE_REDIS_URL = env.str("THROTTLE_REDIS_URL", default="")

# Celery: the database row is the queue; the broker only carries wake-ups.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The console backend prints each SMS to the worker's own output, not through the logger.
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("priority"), Queue("default"))
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "dispatch-due": {
        "task": "messaging.dispatch_due",
        "schedule": env.float("DISPATCH_POLL_SECONDS", default=1.0),
        "options": {"expires": 5},
    },
    "sweep-queue": {
        "task": "messaging.sweep_queue",
        "schedule": env.float("SWEEP_SECONDS", default=15.0),
        "options": {"expires": 30},
    },
}
# Retention: requests whose every recipient is final and whose last activity is older than this many
# days are deleted daily (messaging.purge_old_sms; `manage.py purge_sms` by hand); 0 keeps everything.
SMS_RETENTION_DAYS = env.int("SMS_RETENTION_DAYS", default=0)
# The purge deletes this many recipient rows a transaction and sleeps this long after each one,
# leaving the database to intake and dispatch.
SMS_RETENTION_BATCH = env.int("SMS_RETENTION_BATCH", default=2000)
# After each purge transaction: beside intake on 2 cores, a 0.1 s pause let the purge triple
# intake's p99, 0.3 s doubled it, 0.5 s raised it 1.5x, at 3,200 rows a second (bench_growth).
SMS_RETENTION_PAUSE_SECONDS = env.float("SMS_RETENTION_PAUSE_SECONDS", default=0.5)
if SMS_RETENTION_DAYS > 0:
    CELERY_BEAT_SCHEDULE["purge-old-sms"] = {
        "task": "messaging.purge_old_sms",
        "schedule": crontab(minute=30, hour=3),  # UTC, a quiet hour for most
        "options": {"expires": 3600},
    }

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Content-Security-Policy on every response (django-csp; Django 5.2 has none of its own): scripts,
# styles, fonts and fetches only from this origin, no inline script or style, no frames, no
# plugins. The admin, the console pages and Swagger UI (drf-spectacular-sidecar) keep to it;
# images may also be data: URIs (the admin's and Swagger UI's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# The OpenAPI 3 description served at /api/schema/ (smsgateway/schema.py fills in what views do not say).
SPECTACULAR_SETTINGS = {
    "TITLE": "SMS gateway API",
    "DESCRIPTION": "The Volt MX Engagement Services SMS API: send, read, cancel, status, inbound, provider config.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every endpoint but health, metrics and provider callbacks, the schema needs credentials;
    # a staff user signed in to the admin reads the Swagger UI with the admin's session.
    "SERVE_AUTHENTICATION": [
        "rest_framework.authentication.SessionAuthentication",
        "messaging.api.authentication.ApiKeyAuthentication",
        "messaging.api.authentication.AccessTokenAuthentication",
        "messaging.api.authentication.GatewayBasicAuthentication",
    ],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "smsgateway.schema.postprocess"],
    "PREPROCESSING_HOOKS": ["smsgateway.schema.preprocess"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's scripts, styles and icon from the project's static files (drf-spectacular-sidecar).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Console and observability. Every log line carries the request id (X-Request-ID, or the Celery
# task id) and shows phone numbers masked; LOG_FORMAT=json writes one JSON object a line.
# /metrics is open unless METRICS_TOKEN is set, then it wants "Authorization: Bearer <token>".
LOGGING.setdefault("filters", {})["request_context"] = {"()": "smsgateway.logging.RequestContextFilter"}
LOGGING["formatters"]["keyvalue"] = {"()": "smsgateway.logging.KeyValueFormatter"}
LOGGING["formatters"]["json"] = {"()": "smsgateway.logging.JsonFormatter"}
LOGGING["handlers"]["console"]["filters"] = ["request_context"]
LOGGING["handlers"]["console"]["formatter"] = "json" if env.str("LOG_FORMAT", default="") == "json" else "keyvalue"
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# /readyz answers from checks at most this old, and shows them only with METRICS_TOKEN.
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE["traffic-aggregate"] = {
    "task": "ops.traffic_aggregate",
    "schedule": env.float("TRAFFIC_AGGREGATE_SECONDS", default=15.0),
    "options": {"expires": 30},
}
