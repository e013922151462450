"""Hangar settings.

Every setting comes from the environment (12-factor), read through django-environ; a
`.env` file beside manage.py is read for local use. Any variable may instead be given as
`NAME_FILE` pointing at a file that holds the value (Kubernetes/Docker secrets).
`.env.example` documents every variable.

With nothing configured this is the embedded default that `make run` uses: SQLite, no
broker (operations run in a worker thread of the web process) and DEBUG on.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.FileAwareEnv()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

# A default key is only tolerated while developing: sessions, password-reset tokens and
# (without FIELD_ENCRYPTION_KEYS) the encryption of secrets all hang on it.
DEV_SECRET_KEY = "django-insecure-hangar-development-only-do-not-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a long random value when DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = DEV_SECRET_KEY

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "controlpanel.core",
    "clusters",
    "sites",
    "billing",
    "controlpanel.integrations",
    "controlpanel",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "controlpanel.core.audit.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "controlpanel.urls"
WSGI_APPLICATION = "controlpanel.wsgi.application"

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

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hangar.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded default: the development server's request threads and the embedded
    # worker's threads write at the same time. WAL lets readers go on while one writes;
    # a transaction takes the write lock when it begins (IMMEDIATE), so two never both
    # read and then deadlock on upgrading to write (SQLite's "database is locked" that no
    # timeout helps); and a writer waits up to `timeout` seconds for the lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": env.float("SQLITE_TIMEOUT", default=20.0),
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# The agency's time zone: invoices are cut at its calendar-month boundaries.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Secrets at rest -------------------------------------------------------------------
# Fernet keys, newest first; older keys stay listed until `manage.py
# rotate_encryption_keys` has re-encrypted every value with the first one.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
FIELD_ENCRYPTION_KEYS_DERIVED = not FIELD_ENCRYPTION_KEYS
if FIELD_ENCRYPTION_KEYS_DERIVED:
    # Development convenience only; system check hangar.W001 flags it in production.
    FIELD_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()
    ]

# --- Celery and the operation engine ---------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, operations run in a worker thread inside the web process (the
# embedded default); system check hangar.E003 refuses that in production.
HANGAR_EMBEDDED_WORKER = not CELERY_BROKER_URL
if HANGAR_EMBEDDED_WORKER:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# At-least-once delivery: the Operation row, not the broker, decides whether work is done.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=30 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=35 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Publishing to a broker that is down must not hang a web request: the operation row
# stays pending and the sweeper enqueues it once the broker is back.
CELERY_TASK_PUBLISH_RETRY = False
# Keep a worker's database connection from task to task, as web requests do (CONN_MAX_AGE,
# CONN_HEALTH_CHECKS): Celery's Django fixup otherwise closes it around every task, and every
# operation paid for a new PostgreSQL backend (about 5 per operation in a fleet deploy).
# controlpanel.celery closes broken or expired connections around tasks instead.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Every talk with the broker is bounded (docs/reliability.md): a publish gives up after one
# try of at most HANGAR_BROKER_TIMEOUT seconds to connect and as long for an answer (kombu
# would otherwise loop on connecting for broker_connection_timeout with 2 s pauses, 6 s per
# action while the broker is down); the operation row stays pending and the sweeper
# delivers it. Workers reconnect on their own schedule (broker_connection_retry).
HANGAR_BROKER_TIMEOUT = env.float("HANGAR_BROKER_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_TIMEOUT = HANGAR_BROKER_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": HANGAR_BROKER_TIMEOUT,
    "socket_timeout": HANGAR_BROKER_TIMEOUT,  # above the 1 s that workers' BRPOP waits
    "max_retries": 0,  # kombu's connect loop on publish: no second try
    "retry_on_timeout": False,
}
# After a failed publish, a process stops trying for this long (the sweeper delivers what
# it could not): a fleet deploy while the broker is down pays one timeout, not one each.
HANGAR_ENQUEUE_PAUSE_SECONDS = env.float("HANGAR_ENQUEUE_PAUSE_SECONDS", default=10.0)
# Queues (docs/reliability.md): operations (and their retries, polled first) never wait
# behind periodic passes or outbound deliveries. Workers consume them as deployed in
# compose.yaml and deploy/base; a worker started without -Q consumes all of them.
HANGAR_QUEUES = ("operation-retries", "operations", "periodic", "webhooks")
CELERY_TASK_QUEUES = {name: {"exchange": name, "routing_key": name} for name in HANGAR_QUEUES}
CELERY_TASK_DEFAULT_QUEUE = "periodic"
CELERY_TASK_ROUTES = {
    "clusters.run_operation": {"queue": "operations"},
    "api.deliver_webhook": {"queue": "webhooks"},
    "billing.email_invoice": {"queue": "webhooks"},  # outbound too: a slow mail server
    # everything else (the periodic passes) goes to the default queue, "periodic"
}
CELERY_BEAT_SCHEDULE = {
    "sweep-operations": {
        "task": "clusters.sweep_operations",
        "schedule": env.float("HANGAR_SWEEP_SECONDS", default=30.0),
    },
    "reconcile-environments": {
        "task": "sites.reconcile_environments",
        "schedule": env.float("HANGAR_RECONCILE_SECONDS", default=60.0),
    },
    # Scheduled cron runs that failed are announced (cron.failed) within this period.
    "check-cron-runs": {
        "task": "sites.check_cron_runs",
        "schedule": env.float("HANGAR_CRON_CHECK_SECONDS", default=120.0),
    },
}
# The drift pass checks a batch per run, the longest unchecked first, and starts no check
# after its budget: every environment is checked once per ceil(environments / batch) runs
# (15,000 environments: 60 runs, an hour at the defaults), whatever the API servers' speed.
HANGAR_DRIFT_BATCH = env.int("HANGAR_DRIFT_BATCH", default=250)
HANGAR_DRIFT_BUDGET_SECONDS = env.float("HANGAR_DRIFT_BUDGET_SECONDS", default=45.0)

# How operations reach a worker: "celery" (a broker), "thread" (embedded default), or
# "none" (nothing runs them; tests drive the engine themselves).
HANGAR_OPERATION_DISPATCH = env.str(
    "HANGAR_OPERATION_DISPATCH", default="thread" if HANGAR_EMBEDDED_WORKER else "celery"
)
HANGAR_HEARTBEAT_SECONDS = env.float("HANGAR_HEARTBEAT_SECONDS", default=10.0)
# A running operation without a heartbeat for this long lost its worker.
HANGAR_STALE_AFTER_SECONDS = env.float("HANGAR_STALE_AFTER_SECONDS", default=60.0)
HANGAR_SWEEP_SECONDS = env.float("HANGAR_SWEEP_SECONDS", default=30.0)
# Seconds before retry 1, 2, 3, ... of an operation that failed transiently.
HANGAR_RETRY_DELAYS = [
    float(x) for x in env.list("HANGAR_RETRY_DELAYS", default=["5", "20", "60", "180"])
]
# How often an operation looks at what it waits for (rollouts, jobs, namespace deletion).
HANGAR_POLL_SECONDS = env.float("HANGAR_POLL_SECONDS", default=2.0)
# Rollouts are followed through one watch of each cluster's Deployments per worker
# process (clusters.kube.watcher), read only when it is down; off: read every poll.
HANGAR_WATCH_DEPLOYMENTS = env.bool("HANGAR_WATCH_DEPLOYMENTS", default=True)
# How long a deploy waits for its rollout before failing it.
HANGAR_ROLLOUT_TIMEOUT = env.float("HANGAR_ROLLOUT_TIMEOUT", default=600.0)
# A rollout fails as soon as a new pod certainly cannot become ready (clusters.kube.status
# .pod_trouble): a container crash-looping after this many restarts, or a pod no node took
# for this many seconds (time for a cluster autoscaler to add a node).
HANGAR_CRASH_RESTARTS = env.int("HANGAR_CRASH_RESTARTS", default=3)
HANGAR_UNSCHEDULABLE_SECONDS = env.float("HANGAR_UNSCHEDULABLE_SECONDS", default=120.0)
# Hangar's own identity on its clusters ("namespace:name" of its service account) and the
# ClusterRole it binds to that account in each environment namespace it creates (see
# docs/cluster-access.md). An empty role binds nothing: for a cluster whose role grants
# Hangar every namespace at once.
HANGAR_SERVICE_ACCOUNT = env.str("HANGAR_SERVICE_ACCOUNT", default="hangar-system:hangar")
HANGAR_NAMESPACE_ROLE = env.str("HANGAR_NAMESPACE_ROLE", default="hangar-environment")
# What a drift check does when objects of an environment are gone from its cluster (a
# namespace emptied by hand, an API server that lost its state): "repair" queues an
# operation that re-creates them, "report" only shows them on the drift page.
HANGAR_DRIFT_REPAIR = env.str("HANGAR_DRIFT_REPAIR", default="repair")
if HANGAR_DRIFT_REPAIR not in ("repair", "report"):
    raise ImproperlyConfigured('HANGAR_DRIFT_REPAIR must be "repair" or "report".')

# --- Email -----------------------------------------------------------------------------
vars().update(
    env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hangar <hangar@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- HTTP security ---------------------------------------------------------------------
# Behind a TLS-terminating ingress the proxy says which scheme the client used.
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Kubelet probes speak plain HTTP to the pod.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Payloads larger than this are refused before any view sees them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# --- Sessions, cookies and error reports (docs/security.md) -----------------------------
# A signed-in session lasts at most SESSION_COOKIE_AGE seconds (12 hours: a working day;
# the server forgets it then whatever the browser keeps) and, by default, also ends when
# the browser closes. Sign-in rotates the session key (Django), so a planted one is useless.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
# Lax: cookies ride along on top-level navigations from other sites (an emailed link) but
# not on their forms' POSTs or their scripts' requests. Neither cookie is sent over plain
# HTTP in production (SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE above). The CSRF cookie
# stays readable by scripts (Django's default; HttpOnly would add nothing, see Django's
# CSRF_COOKIE_HTTPONLY notes) because the API's interactive docs send it back.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Browsers must not let other origins read responses via window.opener.
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Error reports (500 emails, tracebacks) mask the Authorization header, cookies, settings
# and local variables whose names say secret, and API tokens inside any other value.
DEFAULT_EXCEPTION_REPORTER_FILTER = "controlpanel.core.redaction.SafeExceptionReporterFilter"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "controlpanel.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "controlpanel.api.permissions.HasScope",
    ],
    "DEFAULT_PARSER_CLASSES": ["controlpanel.api.parsers.SafeJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": [
        "controlpanel.api.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "controlpanel.api.pagination.Pages",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "controlpanel.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["controlpanel.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_RATE_LIMIT", default="600/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Webhook URLs must be https and public unless these are set (development, tests).
HANGAR_WEBHOOK_ALLOW_HTTP = env.bool("HANGAR_WEBHOOK_ALLOW_HTTP", default=DEBUG)
HANGAR_WEBHOOK_ALLOW_PRIVATE = env.bool("HANGAR_WEBHOOK_ALLOW_PRIVATE", default=False)

SPECTACULAR_SETTINGS = {
    "TITLE": "Hangar API",
    "DESCRIPTION": (
        "Automate Hangar: deploy images from CI, manage sites, environments, domains, "
        "variables and cron schedules, and follow operations. Errors are RFC 9457 problem "
        "details; actions answer 202 with the operation to poll."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc come from Hangar's static files (drf-spectacular-sidecar, pinned
    # in the lock files), never from a CDN: the docs work offline and under the strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema describes the API, not anyone's data: readable without signing in.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "controlpanel.api.schema.add_problem_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ClientStatus": "controlpanel.core.models.Client.Status",
        "EnvironmentStatus": "sites.models.Environment.Status",
        "OperationStatus": "clusters.models.Operation.Status",
        "ReleaseStatus": "sites.models.Release.Status",
    },
}

# --- Images Hangar runs beside the sites' own ------------------------------------------
VARNISH_IMAGE = env.str("VARNISH_IMAGE", default="docker.io/library/varnish:7.6")

# --- Databases, object storage and backups (clusters.dbserver, clusters.storage, sites.backups)
# The image of backup and restore Jobs: POSIX sh, mariadb-client (mariadb-dump or mysqldump,
# mariadb or mysql), rclone, gzip and sha256sum, running as a non-root user. Build it from
# sites/scripts/Dockerfile.
HANGAR_TOOLBOX_IMAGE = env.str("HANGAR_TOOLBOX_IMAGE", default="hangar-toolbox:1")
# Seconds a backup or restore Job may run before it is stopped and counted as failed.
HANGAR_BACKUP_TIMEOUT = env.int("HANGAR_BACKUP_TIMEOUT", default=3 * 3600)
# Seconds a download link for a backup stays valid (at most an hour).
HANGAR_BACKUP_DOWNLOAD_SECONDS = env.int("HANGAR_BACKUP_DOWNLOAD_SECONDS", default=300)
# Days a manual, pre-deploy, pre-restore or pre-destroy backup is kept whatever newer
# backups exist (scheduled ones follow the schedule's daily/weekly/monthly policy).
HANGAR_BACKUP_SAFETY_KEEP_DAYS = env.int("HANGAR_BACKUP_SAFETY_KEEP_DAYS", default=14)
# Days the backups of a destroyed environment are kept (the pre-destroy one included).
HANGAR_BACKUP_DESTROYED_KEEP_DAYS = env.int("HANGAR_BACKUP_DESTROYED_KEEP_DAYS", default=90)
# Putting a safety backup back after a failed restore: attempts while the storage does
# not answer, and the first pause in seconds (doubling).
HANGAR_RESTORE_UNDO_ATTEMPTS = env.int("HANGAR_RESTORE_UNDO_ATTEMPTS", default=5)
HANGAR_RESTORE_UNDO_BACKOFF = env.float("HANGAR_RESTORE_UNDO_BACKOFF", default=15.0)
# Days a failed backup stays listed (its partial objects are deleted at once when possible).
HANGAR_BACKUP_FAILED_KEEP_DAYS = env.int("HANGAR_BACKUP_FAILED_KEEP_DAYS", default=30)
# Object storage: attempts per call (botocore standard retries) and timeouts in seconds.
HANGAR_STORAGE_MAX_ATTEMPTS = env.int("HANGAR_STORAGE_MAX_ATTEMPTS", default=4)
HANGAR_STORAGE_CONNECT_TIMEOUT = env.float("HANGAR_STORAGE_CONNECT_TIMEOUT", default=5.0)
HANGAR_STORAGE_READ_TIMEOUT = env.float("HANGAR_STORAGE_READ_TIMEOUT", default=60.0)
# The database server: connect timeout and the longest statement (DROP DATABASE) in seconds.
HANGAR_DATABASE_CONNECT_TIMEOUT = env.float("HANGAR_DATABASE_CONNECT_TIMEOUT", default=5.0)
HANGAR_DATABASE_READ_TIMEOUT = env.float("HANGAR_DATABASE_READ_TIMEOUT", default=300.0)
# Import scheduled backups from object storage (and alert on missing or failed ones), and
# run the weekly verified restores that are due.
CELERY_BEAT_SCHEDULE["import-scheduled-backups"] = {
    "task": "sites.import_scheduled_backups",
    "schedule": env.float("HANGAR_BACKUP_IMPORT_SECONDS", default=900.0),
}
# The scrub: every HANGAR_BACKUP_SCRUB_SECONDS, verify again (every object's checksum) the
# HANGAR_BACKUP_SCRUB_BATCH verified backups checked longest ago; mark and alert corrupt ones.
HANGAR_BACKUP_SCRUB_BATCH = env.int("HANGAR_BACKUP_SCRUB_BATCH", default=10)
CELERY_BEAT_SCHEDULE["scrub-backups"] = {
    "task": "sites.scrub_backups",
    "schedule": env.float("HANGAR_BACKUP_SCRUB_SECONDS", default=3600.0),
}
CELERY_BEAT_SCHEDULE["verify-restores"] = {
    "task": "sites.verify_restores_due",
    "schedule": 3600.0,
}
# Previews past their time to live (days since the last deploy) are destroyed.
CELERY_BEAT_SCHEDULE["expire-previews"] = {
    "task": "sites.expire_previews",
    "schedule": env.float("HANGAR_PREVIEW_EXPIRY_SECONDS", default=900.0),
}

# --- Billing (billing/) -----------------------------------------------------------------
# The one currency of node prices, cluster costs and invoices (ISO 4217).
HANGAR_BILLING_CURRENCY = env.str("HANGAR_BILLING_CURRENCY", default="USD")
# Usage is sampled this often (seconds); each sample stands for the interval after it.
HANGAR_BILLING_SAMPLE_SECONDS = env.int("HANGAR_BILLING_SAMPLE_SECONDS", default=3600)
# Raw samples are kept this many days after they are rolled up into daily usage.
HANGAR_BILLING_SAMPLE_RETENTION_DAYS = env.int("HANGAR_BILLING_SAMPLE_RETENTION_DAYS", default=62)
# Least a site that ran in a month is billed, unless its client's billing profile says
# otherwise (0: no minimum).
HANGAR_BILLING_MINIMUM_SITE_FEE = env.str("HANGAR_BILLING_MINIMUM_SITE_FEE", default="0")
# Days between issuing an invoice and its due date.
HANGAR_INVOICE_DUE_DAYS = env.int("HANGAR_INVOICE_DUE_DAYS", default=14)
# Sample usage (and roll up today and yesterday); prepare last month's draft invoices.
CELERY_BEAT_SCHEDULE["billing-sample-usage"] = {
    "task": "billing.sample_usage",
    "schedule": float(HANGAR_BILLING_SAMPLE_SECONDS),
}
CELERY_BEAT_SCHEDULE["billing-draft-invoices"] = {
    "task": "billing.draft_invoices",
    "schedule": env.float("HANGAR_BILLING_DRAFT_SECONDS", default=6 * 3600.0),
}

# Every periodic task expires before its next run is due: a run that could not start in
# time (workers busy or down) is dropped instead of piling up behind the next one. Each
# task also holds a lock while it runs, so it never overlaps itself
# (controlpanel.core.locks).
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry.setdefault("options", {}).setdefault("expires", 0.9 * float(_entry["schedule"]))

# --- Sandbox cluster ---------------------------------------------------------------------
# The local Kubernetes API emulator that `make run` registers as a clearly labelled
# sandbox cluster. Empty means no sandbox.
SANDBOX_CLUSTER_URL = env.str("SANDBOX_CLUSTER_URL", default="")
# The demo's data (manage.py seed_demo): the sandbox cluster provisions databases on this
# MariaDB server (an admin's URL) and backs up to this S3 API server (`make run` starts one),
# when both answer and rclone and the mariadb client tools are installed.
HANGAR_DEMO_MARIADB_URL = env.str("HANGAR_DEMO_MARIADB_URL", default="mysql://root@127.0.0.1:3306")
HANGAR_DEMO_S3_URL = env.str("HANGAR_DEMO_S3_URL", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    # Secrets never reach a log line: API tokens, webhook secrets and Authorization
    # headers are redacted (controlpanel.core.redaction). Logger filters apply to records
    # their logger creates; the handler's filter catches every other logger's.
    "filters": {
        "redact": {"()": "controlpanel.core.redaction.RedactSecretsFilter"},
        "kubernetes_bodies": {"()": "controlpanel.core.redaction.KubernetesBodyFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # The Kubernetes client logs response bodies (Secrets included) at DEBUG: kept at
        # WARNING, and should someone lower it, bodies are replaced by their size.
        "kubernetes": {"level": "WARNING"},
        "kubernetes.client.rest": {"filters": ["kubernetes_bodies", "redact"]},
        "urllib3": {"level": "WARNING"},
        "urllib3.connectionpool": {"filters": ["redact"]},
        "django.request": {"filters": ["redact"]},
        "django.server": {"filters": ["redact"]},
    },
}

# --- Web UI (controlpanel/web): staff console, client portal, sign-in ------------------------
# TOTP two-factor authentication (django-otp): required for agency staff, optional for
# client users. A Content-Security-Policy on every page (no inline script or style).
INSTALLED_APPS += ["django_otp", "django_otp.plugins.otp_totp", "controlpanel.web"]
_AUTH_MIDDLEWARE = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE[_AUTH_MIDDLEWARE + 1 : _AUTH_MIDDLEWARE + 1] = [
    "django_otp.middleware.OTPMiddleware",
    # Staff without a device go to enrolment; users with one confirm a code first.
    "controlpanel.web.middleware.TwoFactorMiddleware",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "controlpanel.web.middleware.ContentSecurityPolicyMiddleware",
)
TEMPLATES[0]["OPTIONS"]["context_processors"].append(
    "controlpanel.web.context_processors.navigation"
)
OTP_TOTP_ISSUER = env.str("HANGAR_TOTP_ISSUER", default="Hangar")
# Failed sign-ins allowed per email address and per client IP address within the window
# (seconds) before further attempts are refused until the window has passed. Counted in
# the cache: use a shared cache (CACHE_URL=redis://...) with several web processes.
HANGAR_LOGIN_MAX_FAILURES = env.int("HANGAR_LOGIN_MAX_FAILURES", default=5)
HANGAR_LOGIN_FAILURE_WINDOW = env.int("HANGAR_LOGIN_FAILURE_WINDOW", default=15 * 60)
# Behind an ingress every request comes from the proxy's address: name the request header
# (as in request.META, e.g. HTTP_X_REAL_IP) that the proxy sets to the client's address,
# so that throttling counts people rather than the proxy. Empty: REMOTE_ADDR.
HANGAR_CLIENT_IP_HEADER = env.str("HANGAR_CLIENT_IP_HEADER", default="")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# How long password-set links in invitation and reset emails stay valid (seconds).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)
