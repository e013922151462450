"""The HTTP side: request parsing, routing to the verbs, faults, auth and Status bodies."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import discovery, errors, metrics
from .access import AccessPolicy, Attributes
from .calls import Options, Result
from .errors import ApiError
from .faults import Faults, RequestLog, RequestRecord
from .negotiation import SERIALIZED, accepts_serialized, not_acceptable
from .operations import Api
from .rbac import check_bind
from .resources import Registry, ResourceType
from .watch import watch_stream
from .writes import APPLY, parse_apply_body, parse_json

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 3 * 1024 * 1024
# Bodies larger than this are not even drained before the 413.
_DRAIN_LIMIT = 64 * 1024 * 1024


@dataclass
class Target:
    """What a resource path names."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str


class Router:
    """Maps (method, path) to discovery documents and verbs."""

    def __init__(
        self,
        api: Api,
        registry: Registry,
        access: AccessPolicy,
        git_version: str,
        stopping: threading.Event,
    ) -> None:
        self.api = api
        self.registry = registry
        self.access = access
        self.git_version = git_version
        self.stopping = stopping
        # Where the watch cache starts: older resourceVersions are expired.
        self.watch_floor = api.store.revision

    def dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Any,
        body: bytes,
        server_address: str,
    ) -> Result | Iterator[bytes]:
        if path in ("/healthz", "/livez", "/readyz"):
            return Result(200, "ok")
        if method not in ("GET", "HEAD") and path in ("/version", "/api", "/apis"):
            raise ApiError(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )
        if path == "/version":
            return Result(200, discovery.version_info(self.git_version))
        if path == "/api":
            return Result(200, discovery.api_versions(server_address))
        if path == "/apis":
            return Result(200, metrics.with_group(discovery.group_list(self.registry)))
        parts = [unquote(p) for p in path.split("/") if p]
        if parts[:2] == ["apis", metrics.GROUP]:  # served as metrics-server serves it
            return Result(
                *metrics.serve(self.api.store, self.access.check, method, parts[2:], query)
            )
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) == 2 and parts[0] == "apis":
            doc = discovery.group(self.registry, parts[1])
            if doc is None:
                raise errors.route_not_found()
            return Result(200, doc)
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise errors.route_not_found()
        if not rest:
            doc = discovery.resource_list(self.registry, group, version)
            if doc is None:
                raise errors.route_not_found()
            return Result(200, doc)
        target = self._target(group, version, rest)
        return self._resource(method, target, query, headers, body)

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] != "status":
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise errors.route_not_found()
        rt = self.registry.by_path(group, version, rest[0])
        if rt is None:
            raise errors.route_not_found()
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else ""
        if (rt.namespaced and namespace is None and name is not None) or (
            not rt.namespaced and namespace is not None
        ):
            raise errors.route_not_found()
        if subresource and subresource not in rt.subresources:
            raise errors.route_not_found()
        return Target(rt, namespace, name, subresource)

    @staticmethod
    def _verb(method: str, target: Target, query: dict[str, str]) -> str:
        if target.name is None:
            verbs = {
                "GET": "watch" if query.get("watch") in ("true", "1") else "list",
                "HEAD": "list",
                "POST": "create",
                "DELETE": "deletecollection",
            }
        else:
            verbs = {
                "GET": "get",
                "HEAD": "get",
                "PUT": "update",
                "PATCH": "patch",
                "DELETE": "delete",
            }
        verb = verbs.get(method)
        rt = target.rt
        allowed = (
            rt.verbs
            if not target.subresource
            else (("get",) if target.subresource == "log" else ("get", "patch", "update"))
        )
        if verb is None or (verb not in allowed and not (verb == "watch" and "list" in allowed)):
            raise errors.method_not_allowed(
                {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
                    method, method.lower()
                )
                if verb is None
                else verb,
                rt.plural,
                rt.group,
            )
        return verb

    def _options(self, query: dict[str, str], headers: Any, body: bytes, verb: str) -> Options:
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        manager = query.get("fieldManager", "")
        if not manager and content_type != APPLY:
            # Upstream defaults the manager to the User-Agent's first word.
            manager = (headers.get("User-Agent") or "unknown").split("/")[0]
        force = query.get("force")
        opts = Options(
            manager=manager,
            dry_run=query.get("dryRun") == "All",
            force=None if force is None else force == "true",
            propagation=query.get("propagationPolicy"),
        )
        if query.get("orphanDependents") in ("true", "false"):
            opts.propagation = "Orphan" if query["orphanDependents"] == "true" else "Background"
        if verb in ("delete", "deletecollection") and body:
            delete_options = parse_json(body) or {}
            if not isinstance(delete_options, dict):
                raise errors.bad_request("the body of a delete must be DeleteOptions")
            if delete_options.get("propagationPolicy"):
                opts.propagation = delete_options["propagationPolicy"]
            elif delete_options.get("orphanDependents") is not None:
                opts.propagation = "Orphan" if delete_options["orphanDependents"] else "Background"
            opts.preconditions = delete_options.get("preconditions") or {}
            opts.dry_run = opts.dry_run or "All" in (delete_options.get("dryRun") or [])
        if opts.propagation not in (None, "Orphan", "Background", "Foreground"):
            raise errors.bad_request(
                f'propagationPolicy: Unsupported value: "{opts.propagation}": supported '
                'values: "Foreground", "Background", "Orphan"'
            )
        return opts

    def _resource(
        self, method: str, target: Target, query: dict[str, str], headers: Any, body: bytes
    ) -> Result | Iterator[bytes]:
        rt, sub = target.rt, target.subresource
        verb = self._verb(method, target, query)
        namespace = target.namespace or ""
        if rt.plural == "namespaces" and target.name:
            # RequestInfo treats a namespace's own name as its namespace.
            namespace = target.name
        self.access.check(Attributes(verb, rt.group, rt.plural, sub, namespace, target.name or ""))
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        if verb == "patch" and not sub and content_type == APPLY:
            # An apply that creates the object is authorized as a create too (upstream's
            # patch handler checks "create" on that path).
            scope = target.namespace or ""
            if self.api.store.get(rt.group, rt.plural, scope, target.name or "") is None:
                self.access.check(
                    Attributes("create", rt.group, rt.plural, "", namespace, target.name or "")
                )
        if rt.plural == "rolebindings" and verb in ("create", "update", "patch") and body:
            check_bind(self.access, namespace, parse_json(body))
        if verb in ("create", "update") and content_type not in ("", *SERIALIZED):
            # A form post (curl -d) or anything else the server cannot decode.
            raise errors.unsupported_media_type(content_type, list(SERIALIZED))
        if verb in ("create", "update") and content_type == "application/yaml":
            body = json.dumps(parse_apply_body(body)).encode()
        opts = self._options(query, headers, body, verb)
        ns = target.namespace or ""
        name = target.name or ""
        if verb == "list":
            return self.api.list(rt, target.namespace, query)
        if verb == "watch":
            return watch_stream(
                self.api.store, rt, target.namespace, query, self.stopping, self.watch_floor
            )
        if verb == "create":
            return self.api.create(rt, ns, parse_json(body), opts)
        if verb == "deletecollection":
            return self.api.delete_collection(rt, target.namespace, query, opts)
        if verb == "get":
            if sub == "log":
                return self.api.pod_log(ns, name, query)
            if sub == "scale":
                return self.api.get_scale(rt, ns, name)
            return self.api.get(rt, ns, name)
        if verb == "update":
            return self.api.replace(rt, ns, name, parse_json(body), opts, sub)
        if verb == "patch":
            content_type = headers.get("Content-Type") or ""
            return self.api.patch(rt, ns, name, body, content_type, opts, sub)
        return self.api.delete(rt, ns, name, opts)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Client pools open a few connections at once.
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        router: Router,
        faults: Faults,
        requests: RequestLog,
        token: str | None,
        max_body: int,
        verbose: bool = False,
    ) -> None:
        self.router = router
        self.faults = faults
        self.requests = requests
        self.token = token
        self.max_body = max_body
        self.verbose = verbose
        super().__init__(address, SandboxHandler)


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without TCP_NODELAY, keep-alive requests wait on delayed ACKs (~40 ms each).
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm
        # meets the client's delayed ACK and every response takes 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return "sandbox-kube-apiserver"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        """The request body, or None if it is over the limit (already drained)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += size
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if total <= self.server.max_body:
                    chunks.append(chunk)
            return b"".join(chunks) if total <= self.server.max_body else None
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.server.max_body:
            if length <= _DRAIN_LIMIT:
                # Read it all so the client sees our 413, not a reset connection.
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 16))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            else:
                self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        multi = parse_qs(split.query, keep_blank_values=True)
        query = {k: v[0] for k, v in multi.items()}
        record = self.server.requests.record(
            RequestRecord(
                method=self.command,
                path=path,
                query=multi,
                content_type=self.headers.get("Content-Type") or "",
                user_agent=self.headers.get("User-Agent") or "",
            )
        )
        body = self._read_body()
        rule = self.server.faults.take(self.command, path)
        if rule is not None:
            record.fault = True
            if rule.latency:
                time.sleep(rule.latency)
            if rule.drop:
                self._drop()
                return
            if rule.status:
                error = errors.injected(rule.status, rule.message)
                if rule.retry_after is not None:
                    error.headers["Retry-After"] = str(rule.retry_after)
                    if rule.status == 429:
                        error.details = {"retryAfterSeconds": rule.retry_after}
                record.status = rule.status
                self._send(Result(error.code, error.body(), error.headers))
                return
        try:
            if self.server.token and (self.headers.get("Authorization") or "") != (
                f"Bearer {self.server.token}"
            ):
                raise errors.unauthorized()
            if body is None:
                raise errors.entity_too_large(self.server.max_body)
            host = f"{self.server.server_address[0]}:{self.server.server_address[1]}"
            result = self.server.router.dispatch(
                self.command, path, query, self.headers, body, host
            )
        except ApiError as exc:
            result = Result(exc.code, exc.body(), exc.headers)
        except Exception as exc:  # the client must get a Status, not a hung socket
            log.exception("sandbox request failed: %s %s", self.command, self.path)
            error = errors.internal_error(f"{type(exc).__name__}: {exc}")
            result = Result(error.code, error.body())
        if rule is not None and rule.lose_answer:
            # Done, but the client never hears of it (faults.Faults.lose_answer).
            record.status = result.code if isinstance(result, Result) else 200
            self._drop()
            return
        if (
            isinstance(result, Result)
            and not isinstance(result.body, str)
            and not accepts_serialized(self.headers.get("Accept"))
        ):
            error = not_acceptable()
            result = Result(error.code, error.body())
        if isinstance(result, Result):
            record.status = result.code
            self._send(result)
        else:
            record.status = 200
            self._stream(result)

    def _drop(self) -> None:
        """Close the connection without answering, like a crashed proxy."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _headers(self, code: int, content_type: str, extra: dict[str, str]) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for key, value in extra.items():
            self.send_header(key, value)

    def _send(self, result: Result) -> None:
        if isinstance(result.body, str):
            payload, content_type = result.body.encode(), "text/plain"
        else:
            payload = json.dumps(result.body, separators=(",", ":")).encode()
            content_type = "application/json"
        self._headers(result.code, content_type, result.headers)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _stream(self, chunks: Iterator[bytes]) -> None:
        self._headers(200, "application/json", {"Transfer-Encoding": "chunked"})
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
