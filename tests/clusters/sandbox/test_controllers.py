"""The fake controllers work when something they watch changes, not on a timer: an idle
sandbox spends nothing on the objects it holds, and a write wakes only what it concerns."""

from __future__ import annotations

import time

from clusters.sandbox import SandboxCluster

from .helpers import deployment, wait_for


def rolled_out(sandbox: SandboxCluster) -> bool:
    return all(
        (d.get("status") or {}).get("availableReplicas") == d["spec"]["replicas"]
        for d in sandbox.list_objects("apps/v1", "Deployment")
    )


def count_reconciles(sandbox: SandboxCluster) -> list[tuple[str, str]]:
    """Record (namespace, name) of every Deployment and Job the controllers reconcile."""
    seen: list[tuple[str, str]] = []
    for controller in (sandbox.controllers.deployments, sandbox.controllers.jobs):
        original = controller.reconcile

        def counted(obj, now, original=original):
            seen.append((obj["metadata"]["namespace"], obj["metadata"]["name"]))
            return original(obj, now)

        controller.reconcile = counted  # type: ignore[method-assign]
    return seen


def test_idle_sandbox_reconciles_nothing_and_a_write_wakes_only_its_namespace(sandbox, core):
    for index in range(20):
        body = deployment("web", replicas=1)
        body["metadata"]["namespace"] = f"site-{index}"
        sandbox.create_object(body)
    wait_for(lambda: rolled_out(sandbox), timeout=10)
    time.sleep(0.3)  # the last status writes' passes
    seen = count_reconciles(sandbox)
    time.sleep(0.5)
    assert seen == []  # before: every Deployment, every 20 ms

    pod = core.list_namespaced_pod("site-7").items[0]
    core.delete_namespaced_pod(pod.metadata.name, "site-7")
    replaced = wait_for(
        lambda: [
            p
            for p in core.list_namespaced_pod("site-7").items
            if p.metadata.name != pod.metadata.name
        ]
    )
    assert len(replaced) == 1
    assert set(seen) == {("site-7", "web")}


def test_rollout_waits_out_its_delay_without_another_write(sandbox, apps, namespace):
    sandbox.controllers.rollout_delay = 0.3
    apps.create_namespaced_deployment(namespace, deployment("slow", replicas=1))
    done = wait_for(
        lambda: (
            (apps.read_namespaced_deployment("slow", namespace).status.available_replicas or 0) == 1
        ),
        timeout=5,
    )
    assert done


def test_object_whose_owner_is_gone_is_collected(sandbox, core, namespace):
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "owned", "ownerReferences": [ref]}}
    )
    # Removed behind the API's back (as a lost etcd would): only the collector notices.
    sandbox.store.remove("", "configmaps", namespace, "owner")
    wait_for(lambda: sandbox.get_object("v1", "Secret", "owned", namespace) is None)


def test_rollout_spread_varies_by_generation_within_its_bounds():
    sandbox = SandboxCluster(rollout_delay=2.0, rollout_spread=3.0, controllers=False)
    controller = sandbox.controllers.deployments
    delays = {
        controller._rollout_delay({"metadata": {"uid": f"u{i}", "generation": g}})
        for i in range(20)
        for g in (1, 2)
    }
    assert all(2.0 <= d < 5.0 for d in delays)
    assert len(delays) == 40  # differs from one Deployment generation to the next
    again = controller._rollout_delay({"metadata": {"uid": "u1", "generation": 2}})
    assert again in delays  # the same generation, the same delay
    annotated = {"metadata": {"uid": "u1", "generation": 2, "annotations": {
        "sandbox.hangar.dev/rollout-delay-seconds": "0.5"}}}  # fmt: skip
    assert controller._rollout_delay(annotated) == 0.5
