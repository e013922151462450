"""HTTP to one API server through the official client: timeouts, retries with backoff and
jitter, and translation of every failure into a KubeError. Nothing else sends requests."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.watch.watch import iter_resp_lines

from clusters.kube.errors import (
    KubeError,
    KubeTimeout,
    KubeUnreachable,
    error_from_response,
)

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)


# The retry policy (docs/reliability.md), decided once for both layers:
# - this transport repeats only what is safe and cheap to repeat at once: reads and
#   server-side applies, 3 tries within 10 seconds (Retry-After honoured inside that);
# - every other write (create, merge patch, replace, delete) is tried once here;
# - the engine retries the whole operation with backoff (HANGAR_RETRY_DELAYS, at most
#   Operation.max_attempts runs), which repeats applies safely and skips unchanged objects.
# So a request is tried at most 3 times per run, and a run waits at most ~10 s on one.
RETRIED_WITHOUT_ASKING = ("GET", "HEAD")
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded in attempts and in time: a transient failure is the engine's to retry."""

    attempts: int = 3
    deadline: float = 10.0
    base_delay: float = 0.5
    max_delay: float = 4.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        # Full jitter: spreads a fleet of workers hitting one API server.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311


@dataclass
class Response:
    status: int
    body: bytes
    headers: Any

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Transport:
    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        # Called before every attempt of a write; raises to stop it (an operation that
        # lost its claim must not touch the cluster again).
        self.before_write: Callable[[], None] | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, Any]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        accept: str = "application/json",
        timeout: tuple[float, float] | None = None,
        retry: bool | None = None,
    ) -> Response:
        """Send one request, retrying transient failures of reads and applies (or as
        `retry` says); raise KubeError on failure."""
        if retry is None:
            retry = method in RETRIED_WITHOUT_ASKING or content_type == APPLY_CONTENT_TYPE
        what = f"{method} {path}"
        started = time.monotonic()
        attempt = 0
        # A dry run writes nothing, and may be sent from another thread (a batch's dry
        # runs go out together), where the claim check's database access does not belong.
        writes = method not in ("GET", "HEAD") and ("dryRun", "All") not in (query or [])
        while True:
            attempt += 1
            if self.before_write is not None and writes:
                self.before_write()
            try:
                return self._once(method, path, query, body, content_type, accept, timeout, what)
            except KubeError as exc:
                elapsed = time.monotonic() - started
                if not (retry and exc.retryable) or attempt >= self.retry.attempts:
                    raise
                pause = self.retry.delay(attempt, exc.retry_after)
                if elapsed + pause > self.retry.deadline:
                    raise
                logger.info(
                    "kubernetes %s failed (%s), retry %d in %.1fs",
                    what,
                    exc.status or "no answer",
                    attempt,
                    pause,
                )
                self.sleep(pause)

    def _once(
        self,
        method: str,
        path: str,
        query: list[tuple[str, Any]] | None,
        body: Any,
        content_type: str | None,
        accept: str,
        timeout: tuple[float, float] | None,
        what: str,
    ) -> Response:
        with _translated(what):
            response = self._send(
                method, path, query=query, body=body, content_type=content_type, accept=accept,
                timeout=timeout,
            )  # fmt: skip
            data = response.read()
        if 200 <= response.status < 300:
            return Response(response.status, data or b"", response.headers)
        raise error_from_response(response.status, data, response.headers, what=what)

    # fmt: off
    def _send(self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None,
              body: Any = None, content_type: str | None = None, accept: str = "application/json",
              timeout: tuple[float, float] | None = None) -> Any:
        # fmt: on
        """Send one request and return the client's response, its body not read yet."""
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        _, url, header_params, serialized, _ = self.api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return self.api_client.call_api(
            method,
            url,
            header_params=header_params,
            body=serialized,
            _request_timeout=timeout or self.timeout,
        )

    def stream(
        self, path: str, *, query: list[tuple[str, Any]], timeout: tuple[float, float]
    ) -> Iterator[str]:
        """GET a stream (a watch): returns once the server has answered, an iterator of
        its lines as they come. Never retried here: the caller resumes it from where it
        left off. Fails with a KubeError like any request, at once or mid-stream."""
        what = f"GET {path} (watch)"
        with _translated(what):
            response = self._send("GET", path, query=query, timeout=timeout)
            if not 200 <= response.status < 300:
                data = response.read()
                response.response.release_conn()
                raise error_from_response(response.status, data, response.headers, what=what)
        return _lines(response.response, what)


def _lines(response: Any, what: str) -> Iterator[str]:
    try:
        with _translated(what):
            yield from iter_resp_lines(response)
    finally:
        # Closed, not only released: a stream left mid-way must not go back to the pool.
        response.close()
        response.release_conn()


@contextmanager
def _translated(what: str) -> Iterator[None]:
    """Every failure to get an answer, as the KubeError it means."""
    try:
        yield
    except urllib3.exceptions.NewConnectionError as exc:
        # Checked first: urllib3 makes it a subclass of ConnectTimeoutError.
        raise KubeUnreachable(f"Cannot reach the API server for {what}: {_reason(exc)}.") from exc
    except (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError) as exc:
        raise KubeTimeout(f"The API server did not answer {what} in time.") from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise KubeUnreachable(f"Cannot reach the API server for {what}: {_reason(exc)}.") from exc
    except ApiException as exc:  # raised by the client for TLS failures (status 0)
        raise KubeUnreachable(f"Cannot reach the API server for {what}: {exc.reason}") from exc


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    # urllib3 wraps the socket error; the last clause is the useful part.
    return text.rsplit(": ", 1)[-1] if ": " in text else text


class KubeconfigError(KubeError):
    """The stored kubeconfig cannot produce a client."""


def build_api_client(kubeconfig: str) -> k8s.ApiClient:
    """An ApiClient from a kubeconfig held in memory. urllib3's own retries are off:
    Transport owns retrying, with its bounds."""
    try:
        config_dict = yaml.safe_load(kubeconfig)
        configuration = k8s.Configuration()
        k8s_config.load_kube_config_from_dict(
            config_dict, client_configuration=configuration, persist_config=False
        )
    except (yaml.YAMLError, ConfigException, TypeError, ValueError, AttributeError) as exc:
        # The message of a ConfigException never contains credentials, but a YAML error
        # can quote the document; say only what kind of problem it is.
        detail = str(exc) if isinstance(exc, ConfigException) else exc.__class__.__name__
        raise KubeconfigError(f"The cluster's kubeconfig cannot be used: {detail}") from None
    configuration.retries = False
    return k8s.ApiClient(configuration=configuration)


_clients: dict[int, tuple[str, k8s.ApiClient]] = {}
_clients_lock = threading.Lock()


def api_client_for(cluster_id: int, kubeconfig: str) -> k8s.ApiClient:
    """The process-wide client for a cluster, rebuilt when its kubeconfig changes."""
    digest = hashlib.sha256(kubeconfig.encode()).hexdigest()
    with _clients_lock:
        cached = _clients.get(cluster_id)
        if cached is not None and cached[0] == digest:
            return cached[1]
    api_client = build_api_client(kubeconfig)
    with _clients_lock:
        previous = _clients.get(cluster_id)
        _clients[cluster_id] = (digest, api_client)
    if previous is not None and previous[1] is not api_client:
        previous[1].close()
    return api_client


def forget_client(cluster_id: int) -> None:
    from clusters.kube.watcher import forget_watch

    forget_watch(cluster_id)
    with _clients_lock:
        cached = _clients.pop(cluster_id, None)
    if cached is not None:
        cached[1].close()
