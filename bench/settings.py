"""Settings of the benchmarks' processes (harness, Celery workers, gunicorn): production's
settings (DEBUG off, PostgreSQL, Celery on Redis), with what a benchmark on loopback needs.

- No HTTPS redirect and plain-HTTP cookies: the load generator talks plain HTTP to
  127.0.0.1.
- The API's per-token rate limit (600/min by default) raised out of the way: the load
  generator is one token asking as fast as it can.
- A fixed SECRET_KEY and encryption keys (benchmark data only).
- `bench.urls`: the product's URLs plus bench-only raw baselines under /bench/raw/.

Everything else, including HANGAR_POLL_SECONDS and the other operation settings, comes from
the environment the benchmark sets (see bench/fleet.py) or production's defaults.
"""

import os

os.environ.setdefault("SECRET_KEY", "hangar-benchmark-secret-key-not-for-production-use")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "N0mlMus4w_FFbM7LXNk4-Ih1o7Czf7fRyR8_42TM03s=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("API_RATE_LIMIT", "1000000/min")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from controlpanel.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
