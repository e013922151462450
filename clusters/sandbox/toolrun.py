"""Running a tool Job's container as a local process (opt-in, for integration tests).

A sandbox made with ``execute_tool_jobs=True`` runs the container of every Job labelled
``hangar.dev/tool: "true"`` on this machine instead of pretending: the container's command
and args, with the environment a kubelet would give it (``envFrom`` ConfigMaps and Secrets
in order, then ``env`` with values and key references), ConfigMap, Secret and emptyDir
volumes materialised in a temporary directory (paths in the command are rewritten to
them), and the process's output as the pod's log and its exit code as the Job's outcome.
The image is not pulled: the tools it would hold must be installed here.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TOOL_LABEL = "hangar.dev/tool"
MAX_OUTPUT = 1024 * 1024


def is_tool_job(job: dict[str, Any]) -> bool:
    labels = (job.get("metadata") or {}).get("labels") or {}
    return labels.get(TOOL_LABEL) == "true"


class ConfigError(Exception):
    """What a kubelet reports as CreateContainerConfigError."""


def _decoded(secret: dict[str, Any]) -> dict[str, str]:
    values = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    values.update(secret.get("stringData") or {})
    return values


class ToolRun:
    """One container run as a process; ``poll()`` says whether it has finished."""

    def __init__(
        self,
        job: dict[str, Any],
        lookup: Any,
        *,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.namespace = job["metadata"]["namespace"]
        self.started = time.monotonic()
        spec = job.get("spec") or {}
        self.deadline = spec.get("activeDeadlineSeconds")
        pod_spec = (spec.get("template") or {}).get("spec") or {}
        self.container = (pod_spec.get("containers") or [{}])[0]
        self.container_name = self.container.get("name", "")
        self._lookup = lookup
        self._output = bytearray()
        self.exit_code: int | None = None
        self.reason = ""
        self._dir = Path(tempfile.mkdtemp(prefix="sandbox-job-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        try:
            mounts = self._volumes(pod_spec)
            env = self._environment(extra_env or {})
            command = self.container.get("command") or []
            argv = [
                self._rewrite(a, mounts) for a in [*command, *(self.container.get("args") or [])]
            ]
            if not argv:
                raise ConfigError("the sandbox needs an explicit command to run a tool job")
            workdir = self._rewrite(self.container.get("workingDir") or "", mounts)
            self._process = subprocess.Popen(  # noqa: S603 - the Job's own command, opted in
                argv,
                env=env,
                cwd=workdir or str(self._dir),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except (ConfigError, OSError) as exc:
            self._output += f"sandbox: cannot start the container: {exc}\n".encode()
            self.exit_code = 128
            self.reason = "CreateContainerConfigError"
            self._cleanup()
            return
        self._reader = threading.Thread(target=self._read, name="sandbox-tool-job", daemon=True)
        self._reader.start()

    # --- what a kubelet would set up ----------------------------------------------------------

    def _object(self, kind: str, name: str, optional: bool) -> dict[str, Any] | None:
        found = self._lookup(kind, self.namespace, name)
        if found is None and not optional:
            raise ConfigError(f'{kind.lower()} "{name}" not found')
        return found

    def _values(self, kind: str, name: str, optional: bool) -> dict[str, str]:
        found = self._object(kind, name, optional)
        if found is None:
            return {}
        return _decoded(found) if kind == "Secret" else dict(found.get("data") or {})

    def _environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self._dir),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self._dir),
            "HOSTNAME": "sandbox-job",
        }
        for source in self.container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            if "configMapRef" in source:
                ref = source["configMapRef"]
                values = self._values("ConfigMap", ref["name"], ref.get("optional", False))
            elif "secretRef" in source:
                ref = source["secretRef"]
                values = self._values("Secret", ref["name"], ref.get("optional", False))
            else:
                continue
            env.update({prefix + k: v for k, v in values.items()})
        for item in self.container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"])
                continue
            source = item.get("valueFrom") or {}
            for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                if key in source:
                    ref = source[key]
                    values = self._values(kind, ref["name"], ref.get("optional", False))
                    if ref["key"] in values:
                        env[item["name"]] = values[ref["key"]]
                    elif not ref.get("optional", False):
                        raise ConfigError(f'key "{ref["key"]}" not found in {ref["name"]}')
            if "fieldRef" in source:
                path = source["fieldRef"].get("fieldPath")
                if path == "metadata.namespace":
                    env[item["name"]] = self.namespace
        env.update(extra)
        return env

    def _volumes(self, pod_spec: dict[str, Any]) -> dict[str, str]:
        """mountPath -> local directory."""
        local: dict[str, Path] = {}
        for volume in pod_spec.get("volumes") or []:
            name = volume["name"]
            target = self._dir / "volumes" / name
            target.mkdir(parents=True)
            if "configMap" in volume or "secret" in volume:
                is_secret = "secret" in volume
                source = volume["secret"] if is_secret else volume["configMap"]
                ref = source.get("secretName") if is_secret else source.get("name")
                values = self._values(
                    "Secret" if is_secret else "ConfigMap", ref, source.get("optional", False)
                )
                items = source.get("items") or [{"key": k, "path": k} for k in values]
                for item in items:
                    path = target / item["path"]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(values.get(item["key"], ""))
                    path.chmod(item.get("mode", source.get("defaultMode", 0o644)) & 0o777)
            local[name] = target
        mounts = {}
        for mount in self.container.get("volumeMounts") or []:
            if mount["name"] in local:
                path = local[mount["name"]] / mount.get("subPath", "")
                mounts[mount["mountPath"].rstrip("/")] = str(path)
        return mounts

    @staticmethod
    def _rewrite(value: str, mounts: Mapping[str, str]) -> str:
        for mount_path in sorted(mounts, key=len, reverse=True):
            if value == mount_path or value.startswith(mount_path + "/"):
                return mounts[mount_path] + value[len(mount_path) :]
        return value

    # --- running --------------------------------------------------------------------------------

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None  # noqa: S101
        for chunk in iter(lambda: self._process.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self._output += chunk
            if len(self._output) > MAX_OUTPUT:
                del self._output[: len(self._output) - MAX_OUTPUT]

    def poll(self) -> bool:
        """True once the process has ended (or was stopped at its deadline)."""
        if self.exit_code is not None:
            return True
        assert self._process is not None  # noqa: S101
        code = self._process.poll()
        if code is None:
            if self.deadline and time.monotonic() - self.started > float(self.deadline):
                self.stop()
                self.reason = "DeadlineExceeded"
                self._output += b"sandbox: stopped at the job's activeDeadlineSeconds\n"
                code = self._process.wait()
            else:
                return False
        if self._reader is not None:
            self._reader.join(timeout=5)
        self.exit_code = code if code >= 0 else 128 - code
        self._cleanup()
        return True

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
                self._process.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def output(self) -> str:
        return self._output.decode("utf-8", errors="replace")
