"""``SandboxCluster``: lifecycle, kubeconfig, and the in-process controls tests use."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from .access import DEFAULT_USER, AccessPolicy, AllowRule, DenyRule
from .controllers import Controllers
from .errors import ApiError
from .faults import Faults, RequestLog, lose_state
from .operations import Api
from .rbac import bound_rules
from .resources import Registry, ResourceType
from .schemas import GIT_VERSION
from .server import DEFAULT_MAX_BODY, Router, SandboxHTTPServer
from .store import Store

T = TypeVar("T")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class SandboxCluster:
    """A Kubernetes API emulator on a local port, for tests and the dev server.

    ``rollout_delay``, ``job_duration`` and ``namespace_deletion_delay`` are the
    seconds the fake controllers take; objects can override the first two with
    the annotations ``sandbox.hangar.dev/rollout-delay-seconds`` and
    ``sandbox.hangar.dev/run-seconds``. ``rollout_spread`` adds up to that many seconds
    to each rollout, varying from one Deployment generation to the next (benchmarks).

    ``execute_tool_jobs=True`` opts in to running the container command of Jobs labelled
    ``hangar.dev/tool: "true"`` as local processes (backup and restore scripts against real
    servers in tests); ``tool_job_env`` adds variables to their environment (also later,
    through the ``tool_job_env`` property).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        user: str = DEFAULT_USER,
        rollout_delay: float = 0.2,
        rollout_spread: float = 0.0,
        job_duration: float = 0.2,
        namespace_deletion_delay: float = 0.3,
        nodes: Iterable[dict[str, Any]] | None = None,
        objects: Iterable[dict[str, Any]] | None = None,
        controllers: bool = True,
        namespace_defaults: bool = True,
        git_version: str = GIT_VERSION,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        verbose: bool = False,
        execute_tool_jobs: bool = False,
        tool_job_env: dict[str, str] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.token = token
        self.git_version = git_version
        self.max_body_bytes = max_body_bytes
        self.verbose = verbose
        self.store = Store()
        crds = ("apiextensions.k8s.io", "customresourcedefinitions")
        self.registry = Registry(
            lambda: self.store.list(*crds), lambda: self.store.kind_revision(*crds)
        )
        self.access = AccessPolicy(user)
        self.access.bindings = lambda namespace, who: bound_rules(self.store, namespace, who)
        self.api = Api(
            self.store, self.registry, self.access, namespace_defaults=namespace_defaults
        )
        self.faults = Faults()
        self.requests = RequestLog()
        self.controllers = Controllers(
            self.api,
            rollout_delay=rollout_delay,
            rollout_spread=rollout_spread,
            job_duration=job_duration,
            namespace_deletion_delay=namespace_deletion_delay,
            execute_tool_jobs=execute_tool_jobs,
            tool_job_env=tool_job_env,
        )
        self._run_controllers = controllers
        self._stopping = threading.Event()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for name in SYSTEM_NAMESPACES:
            self.create_object(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )
        for node in nodes or ():
            if "kind" in node:
                self.create_object(node)
            else:
                self.add_node(**node)
        for obj in objects or ():
            self.create_object(obj)

    # ----- lifecycle ---------------------------------------------------------

    def start(self) -> SandboxCluster:
        """Listen and serve from a daemon thread; returns self for chaining."""
        if self._server is not None:
            return self
        router = Router(self.api, self.registry, self.access, self.git_version, self._stopping)
        self._server = SandboxHTTPServer(
            (self.host, self.port),
            router,
            self.faults,
            self.requests,
            self.token,
            self.max_body_bytes,
            self.verbose,
        )
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # select() sleeps this long between looks at a shutdown request; stop() wakes
            # it at once, so it need not poll (at 0.01 s that alone was ~1% of a core).
            kwargs={"poll_interval": 0.5},
            name=f"sandbox-apiserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if self._run_controllers:
            self.controllers.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._shutdown_server(self._server)
            self._server.server_close()
        if self._run_controllers:
            self.controllers.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _shutdown_server(self, server: SandboxHTTPServer) -> None:
        """``server.shutdown()`` without waiting out the poll interval: a connection wakes
        the serving loop's select(), which then sees the request and returns."""
        stopper = threading.Thread(target=server.shutdown, name="sandbox-stop", daemon=True)
        stopper.start()
        while stopper.is_alive():
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=0.2),
            ):
                pass
            stopper.join(0.02)

    def __enter__(self) -> SandboxCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (for the CLI)."""
        self.start()
        try:
            while not self._stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def kubeconfig(self, namespace: str = "default", name: str = "sandbox") -> dict[str, Any]:
        """A kubeconfig dict for ``kubernetes.config.new_client_from_config_dict``."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": self.url}}],
            "users": [{"name": name, "user": {"token": self.token or "sandbox-token"}}],
            "contexts": [
                {
                    "name": name,
                    "context": {"cluster": name, "user": name, "namespace": namespace},
                }
            ],
            "current-context": name,
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        """Write the kubeconfig (JSON, which every YAML reader accepts)."""
        target = Path(path)
        target.write_text(json.dumps(self.kubeconfig(namespace), indent=2))
        return target

    # ----- authorization --------------------------------------------------------

    @property
    def user(self) -> str:
        return self.access.user

    def deny(self, **match: str | None) -> DenyRule:
        """Forbid matching requests (403) and answer access reviews for them with false;
        ``match`` holds a DenyRule's fields by name (verb, resource, namespace, group, name)."""
        return self.access.deny(**match)

    def allow(self, rule: DenyRule) -> None:
        self.access.allow(rule)

    def clear_denials(self) -> None:
        self.access.clear()

    def allow_only(self, policy_rules: Iterable[dict[str, Any]] | None) -> None:
        """Act as a service account bound to a ClusterRole with these ``rules`` (RBAC
        PolicyRule dicts): anything they do not grant is forbidden (403) and reviewed as
        not allowed. None grants everything again."""
        self.access.allow_only(
            None
            if policy_rules is None
            else [AllowRule.from_policy_rule(rule) for rule in policy_rules]
        )

    # ----- objects in-process ------------------------------------------------

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        rt = self.registry.by_kind(api_version, kind)
        if rt is None:
            raise KeyError(f"the sandbox does not serve {kind} in {api_version}")
        return rt

    def create_object(self, obj: dict[str, Any], create_namespace: bool = True) -> dict[str, Any]:
        """Store an object as a controller would (no auth, no admission); returns it."""
        rt = self.resource_type(obj["apiVersion"], obj["kind"])
        namespace = (obj.get("metadata") or {}).get("namespace") or "default"
        if (
            rt.namespaced
            and create_namespace
            and self.get_object("v1", "Namespace", namespace) is None
        ):
            self.create_object(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )
        return self.api.system_create(rt, namespace if rt.namespaced else "", obj)

    def get_object(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        rt = self.resource_type(api_version, kind)
        scope = (namespace or "") if rt.namespaced else ""
        return self.store.get(rt.group, rt.plural, scope, name)

    def list_objects(
        self, api_version: str, kind: str, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        rt = self.resource_type(api_version, kind)
        return self.store.list(rt.group, rt.plural, namespace if rt.namespaced else None)

    def delete_object(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool:
        found = self.get_object(api_version, kind, name, namespace)
        if found is None:
            return False
        self.api.system_delete(self.resource_type(api_version, kind), found)
        return True

    def move_tag(self, image: str) -> str:
        """Push another image under the tag `image` (``name:tag``), as a CI job re-using a
        tag does: pods started from now on pull the returned digest."""
        return self.api.tags.move(image)

    def add_node(
        self,
        name: str,
        *,
        pool: str = "default-pool",
        instance_type: str = "s-2vcpu-4gb",
        cpu: str = "2",
        memory: str = "4Gi",
        allocatable: dict[str, str] | None = None,
        pods: str = "110",
        labels: dict[str, str] | None = None,
        ready: bool = True,
    ) -> dict[str, Any]:
        """Add a DOKS-like Node with pool and instance-type labels."""
        index = len(self.store.list("", "nodes")) + 2
        capacity = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "82Gi"}
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "beta.kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": instance_type,
                    "beta.kubernetes.io/instance-type": instance_type,
                    "doks.digitalocean.com/node-pool": pool,
                    **(labels or {}),
                },
            },
            "spec": {"providerID": f"digitalocean://{100000 + index}"},
            "status": {
                "capacity": capacity,
                "allocatable": {**capacity, **(allocatable or {})},
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if ready else "False",
                        "reason": "KubeletReady" if ready else "KubeletNotReady",
                        "message": "kubelet is posting ready status" if ready else "not ready",
                        "lastHeartbeatTime": "2024-01-01T00:00:00Z",
                        "lastTransitionTime": "2024-01-01T00:00:00Z",
                    }
                ],
                "addresses": [
                    {"type": "InternalIP", "address": f"10.0.0.{index}"},
                    {"type": "Hostname", "address": name},
                ],
                "nodeInfo": {
                    "machineID": f"{index:032x}",
                    "systemUUID": f"{index:032x}",
                    "bootID": f"{index:032x}",
                    "kernelVersion": "6.1.0-21-amd64",
                    "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "containerRuntimeVersion": "containerd://1.6.31",
                    "kubeletVersion": self.git_version,
                    "kubeProxyVersion": "",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        }
        return self.create_object(node)

    def set_pod_logs(
        self, namespace: str, pod: str, text: str, container: str | None = None
    ) -> None:
        """Replace the generated log of a pod's container (its only one by default)."""
        if container is None:
            found = self.get_object("v1", "Pod", pod, namespace) or {}
            containers = (found.get("spec") or {}).get("containers") or [{}]
            container = containers[0].get("name", "")
        self.api.custom_logs[(namespace, pod, container or "")] = text

    @property
    def tool_job_env(self) -> dict[str, str]:
        """Variables added to executed tool jobs' environment; change it between runs."""
        return self.controllers.jobs.tool_env

    def lose_state(self) -> int:
        """Fault: forget every object, as an API server whose etcd was lost (faults.py)."""
        return lose_state(self.store, SYSTEM_NAMESPACES)

    def expire_watch_history(self) -> None:
        """Fault: forget the events so far, as an API server whose watch cache starts
        again (a restart): a watch resuming from an older resourceVersion gets 410 Gone
        and must list again."""
        if self._server is not None:
            self._server.router.watch_floor = self.store.revision

    def reconcile(self) -> None:
        """Run one controller pass now, instead of waiting for the background thread."""
        self.controllers.tick()

    def wait_until(
        self, condition: Callable[[], T], timeout: float = 5.0, interval: float = 0.02
    ) -> T:
        """Poll ``condition`` until it returns something truthy; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
            except ApiError:
                value = None
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            time.sleep(interval)
