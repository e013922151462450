# syntax=docker/dockerfile:1
#
# The Hangar image: one image for every process of the panel.
#
#   docker build -t hangar .
#
# By default it runs the web process (gunicorn on port 8000). The same image runs the
# other processes with another command (compose.yaml shows all of them):
#
#   worker:     celery -A controlpanel worker --loglevel=INFO
#   beat:       celery -A controlpanel beat --loglevel=INFO --schedule /tmp/celerybeat-schedule
#   migrations: python manage.py migrate --noinput
#
# Migrations are deliberately NOT run by the default command: with several web replicas
# (and a worker and beat) starting at once they would race each other. Run them once per
# release, before rolling out the new web/worker/beat, as a one-off container
# (`docker compose run --rm migrate`, or the `migrate` service that `docker compose up`
# runs first) or as a Kubernetes Job with the same image and `python manage.py migrate`.
#
# Configuration comes from the environment only (see controlpanel/settings.py): at least
# SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL and FIELD_ENCRYPTION_KEYS
# (each may be given as NAME_FILE instead). The root filesystem may be read-only; the
# processes only write to /tmp (celery beat's schedule) and /dev/shm (gunicorn heartbeats).

############################################################################################
# Stage 1: build the virtualenv and collect the static files.
############################################################################################
FROM python:3.11-slim-bookworm AS build

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH

# No compiler or -dev packages: every dependency installs from a manylinux wheel for
# CPython 3.11 (psycopg[binary] bundles libpq; cryptography and PyYAML are wheels too).
# Should a platform lack a wheel, add build-essential (and libpq-dev) to this stage only.
RUN python -m venv /opt/venv

WORKDIR /app

# Dependencies first, from the lock file alone, so that editing the sources does not
# reinstall them. requirements.lock pins every package of [project].dependencies with the
# SHA-256 of each of its files (`make lock` regenerates it; docs/security.md): pip refuses
# anything unpinned, unhashed or not matching, so a compromised index or mirror cannot
# slip a different file in. Nothing else is downloaded while building the image.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The source tree the processes run from. Keep this list in step with
# [tool.setuptools.packages.find] in pyproject.toml (plus the non-package directories).
COPY manage.py ./
COPY controlpanel ./controlpanel
COPY clusters ./clusters
COPY sites ./sites
COPY billing ./billing
COPY templates ./templates
COPY static ./static

# The project itself is not pip-installed (that would fetch its build backend, unpinned):
# the processes import the code from /app, first on sys.path (PYTHONPATH below), and
# nothing reads the project's package metadata.
# Collect the static files into /app/var/static (settings' STATIC_ROOT default) with
# whitenoise's manifest storage (DEBUG off). The settings refuse to load without a
# SECRET_KEY when DEBUG is off, so a throwaway one is passed to this command only; it is
# not kept in the image. collectstatic touches no database and no broker.
RUN SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime \
    DEBUG=0 \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput \
 && python -m compileall -q manage.py controlpanel clusters sites billing

############################################################################################
# Stage 2: the runtime image.
############################################################################################
FROM python:3.11-slim-bookworm AS runtime

# The repository's public URL, e.g. --build-arg SOURCE_URL=https://github.com/OWNER/hangar
# (CI should pass it; the project records no canonical URL yet).
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="Hangar" \
      org.opencontainers.image.description="Hangar: an open-source control panel for agencies hosting their clients' web sites on Kubernetes" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"

# No extra OS packages: psycopg[binary] bundles libpq, and the health check uses Python.
# A fixed UID/GID so Kubernetes' runAsUser/fsGroup and volume ownership are predictable.
RUN groupadd --system --gid 10001 hangar \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/hangar --create-home \
        --shell /usr/sbin/nologin hangar

COPY --from=build /opt/venv /opt/venv
# Owned by root and read-only for the app user: the process cannot rewrite its own code.
COPY --from=build /app /app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=controlpanel.settings \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=4 \
    FORWARDED_ALLOW_IPS=127.0.0.1,::1

WORKDIR /app
USER 10001
EXPOSE 8000

# Liveness of the web process. Django validates the Host header, so the request carries
# the first ALLOWED_HOSTS entry (127.0.0.1 when that is unset or a wildcard; an
# ALLOWED_HOSTS_FILE is not read here); /healthz is exempt from the HTTPS redirect. Worker
# and beat have no HTTP server: disable this check for them (compose.yaml does).
# Kubernetes ignores HEALTHCHECK: give the pod httpGet probes on /healthz and /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.'); h = '127.0.0.1' if h in ('', '*') else h; u.urlopen(u.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4)"]

# gunicorn: workers x threads from the environment, access log to stdout, heartbeats in
# /dev/shm (memory, and writable with a read-only root filesystem). FORWARDED_ALLOW_IPS
# lists the proxies whose X-Forwarded-Proto gunicorn believes (its wsgi.url_scheme): the
# ingress' addresses, or '*' when only the ingress can reach the pod. (Django's own
# TRUST_X_FORWARDED_PROTO=1 reads that header whatever this says.)
# --no-control-socket: the runtime control socket (gunicorn >= 25.1) would want a
# writable $HOME; containers are scaled by replicas instead.
CMD ["sh", "-c", "exec gunicorn controlpanel.wsgi:application --bind 0.0.0.0:8000 --workers \"${GUNICORN_WORKERS:-2}\" --threads \"${GUNICORN_THREADS:-4}\" --worker-tmp-dir /dev/shm --access-logfile - --error-logfile - --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-127.0.0.1,::1}\" --no-control-socket"]
