"""Hangar works with exactly the roles of docs/cluster-access.md and nothing more.

The sandbox cluster is told to grant only the cluster-wide role's rules, plus what the
RoleBindings Hangar creates grant in each namespace (anything else answers 403 and access
reviews say no); then an environment goes through its whole life on it: test connection,
provision (database, storage prefix, its own role binding, every object), deploy, scale,
cron, a one-off command, logs, backup, restore, destroy (with its final backup). "Test
connection" asks for nothing the roles do not grant (REQUIRED_ACCESS), and Hangar can
read no Secret outside its own namespaces.
"""

from __future__ import annotations

import pytest

from clusters.connection import CLUSTER_ACCESS, NAMESPACE_ACCESS, cluster_test_connection
from clusters.models import Operation
from clusters.sandbox import cert_manager_crds
from clusters.sandbox.access import AllowRule, Attributes
from sites import selectors, services
from sites.backups import services as backups
from sites.models import Backup, Environment
from tests.engine import drain
from tests.security.conftest import (
    cluster_access_objects,
    grant_documented_access,
    hangar_cluster_role,
)

S = Operation.Status
INGRESS_CLASS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "IngressClass",
    "metadata": {"name": "nginx"},
    "spec": {"controller": "k8s.io/ingress-nginx"},
}


ISSUER = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "ClusterIssuer",
    "metadata": {"name": "letsencrypt"},
    "spec": {"acme": {"server": "https://acme.example/directory"}},
}


def granted(rules: list[dict], verb: str, resource: str, group: str, name: str = "") -> bool:
    plural, _, sub = resource.partition("/")
    attrs = Attributes(verb=verb, group=group, resource=plural, subresource=sub, name=name)
    return any(AllowRule.from_policy_rule(rule).matches(attrs) for rule in rules)


def test_test_connection_asks_only_for_what_the_roles_grant(
    cluster_role_rules, environment_role_rules
):
    missing = [a for a in CLUSTER_ACCESS if not granted(cluster_role_rules, *a)]
    assert not missing, f"CLUSTER_ACCESS beyond the hangar ClusterRole: {missing}"
    missing = [a for a in NAMESPACE_ACCESS if not granted(environment_role_rules, *a)]
    assert not missing, f"NAMESPACE_ACCESS beyond the hangar-environment role: {missing}"


def test_the_roles_grant_no_escalation_no_secrets_cluster_wide_and_no_way_into_pods(
    cluster_role_rules, environment_role_rules
):
    for rule in cluster_role_rules + environment_role_rules:
        for key in ("verbs", "resources", "apiGroups"):
            assert "*" not in rule.get(key, []), rule
        assert not {"escalate", "impersonate", "approve", "sign"} & set(rule["verbs"])
        assert "certificates.k8s.io" not in rule["apiGroups"], rule
        assert not rule.get("nonResourceURLs"), rule
    # RBAC only to bind the one namespaced role: bind limited to its name, no role writes.
    rbac = [r for r in cluster_role_rules if "rbac.authorization.k8s.io" in r["apiGroups"]]
    assert {tuple(r["resources"]) for r in rbac} == {("rolebindings",), ("clusterroles",)}
    (roles,) = [r for r in rbac if r["resources"] == ["clusterroles"]]
    assert roles["resourceNames"] == ["hangar-environment"]
    assert not [r for r in environment_role_rules if "rbac.authorization.k8s.io" in r["apiGroups"]]
    # No Secret is readable through the cluster-wide role: only inside Hangar's namespaces.
    for verb in ("get", "list", "watch"):
        assert not granted(cluster_role_rules, verb, "secrets", "")
    # No shell into a site (no SSH by design), no bare pods, no node changes.
    for rules in (cluster_role_rules, environment_role_rules):
        for verb, resource, group, name in [
            ("create", "pods/exec", "", ""),
            ("get", "pods/exec", "", ""),
            ("create", "pods/attach", "", ""),
            ("create", "pods/portforward", "", ""),
            ("create", "pods", "", ""),
            ("patch", "nodes", "", ""),
            ("delete", "nodes", "", ""),
            ("create", "serviceaccounts/token", "", ""),
            ("create", "roles", "rbac.authorization.k8s.io", ""),
            ("create", "clusterroles", "rbac.authorization.k8s.io", ""),
            ("bind", "clusterroles", "rbac.authorization.k8s.io", "cluster-admin"),
            ("escalate", "clusterroles", "rbac.authorization.k8s.io", "hangar-environment"),
            ("create", "clusterrolebindings", "rbac.authorization.k8s.io", ""),
            ("create", "customresourcedefinitions", "apiextensions.k8s.io", ""),
            ("update", "namespaces/finalize", "", ""),
        ]:
            assert not granted(rules, verb, resource, group, name), (verb, resource, name)


def test_the_binding_gives_the_role_to_hangars_service_account_only():
    objects = cluster_access_objects()
    (binding,) = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == hangar_cluster_role()["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "hangar", "namespace": "hangar-system"}
    ]


def succeeded(operation: Operation) -> Operation:
    drain()
    operation.refresh_from_db()
    messages = [e.message for e in operation.events.all()]
    assert operation.status == S.SUCCEEDED, (operation.kind, operation.error, messages)
    return operation


def test_a_whole_environment_life_with_only_the_granted_rules(
    tool_sandbox, data_env, owner, cluster_role_rules, environment_role_rules, settings
):
    for obj in (INGRESS_CLASS, *cert_manager_crds()):
        tool_sandbox.create_object(obj)
    tool_sandbox.create_object(ISSUER)
    grant_documented_access(tool_sandbox, settings, cluster_role_rules, environment_role_rules)
    cluster = data_env.cluster
    cluster.ingress_class = "nginx"
    cluster.save(update_fields=["ingress_class"])

    report = cluster_test_connection(cluster=cluster)
    result = {c.name: c.ok for c in report.checks}
    assert result["permissions"] and result["environment role"], report
    assert result["cert-manager"] and result["ingress class"], report

    succeeded(services.environment_provision(actor=owner, environment=data_env))
    data_env.refresh_from_db()
    assert data_env.status == Environment.Status.ACTIVE
    services.domain_add(actor=owner, environment=data_env, hostname="rbac.acme.example")
    succeeded(
        services.environment_deploy(
            actor=owner, environment=data_env, image="registry.example.com/acme/web:1.1.0"
        )
    )
    succeeded(services.environment_scale(actor=owner, environment=data_env, replicas=2))
    succeeded(
        services.environment_autoscale(
            actor=owner, environment=data_env, enabled=True, min_replicas=2, max_replicas=3
        )
    )
    cron = services.cron_schedule_create(
        actor=owner, environment=data_env, name="drupal", schedule="H * * * *", command="drush cron"
    )
    drain()
    succeeded(services.cron_run_now(actor=owner, cron=cron))
    assert selectors.cron_last_runs(actor=owner, cron=cron) is not None
    command = succeeded(
        services.environment_run_command(actor=owner, environment=data_env, command="drush cr")
    )
    assert command.result["job"].startswith("task-")
    assert selectors.environment_logs(actor=owner, environment=data_env)
    succeeded(services.environment_restart(actor=owner, environment=data_env))

    backup_op = succeeded(backups.backup_create(actor=owner, environment=data_env))
    backup = Backup.objects.get(pk=backup_op.params["backup_id"])
    assert backup.status == Backup.Status.SUCCEEDED
    succeeded(backups.backup_restore(actor=owner, backup=backup, target=data_env))
    backups.backup_schedule_set(actor=owner, environment=data_env, keep_daily=2)
    drain()

    namespace = data_env.namespace
    succeeded(services.environment_destroy(actor=owner, environment=data_env, confirm=namespace))
    assert tool_sandbox.get_object("v1", "Namespace", namespace) is None
    assert Backup.objects.filter(kind=Backup.Kind.PRE_DESTROY, status="succeeded").exists()

    forbidden = [r for r in tool_sandbox.requests.filter() if r.status == 403]
    assert not forbidden, [(r.method, r.path) for r in forbidden]


def test_secrets_are_readable_only_in_hangars_own_namespaces(
    live_sandbox, live_environment, owner, cluster_role_rules, environment_role_rules, settings
):
    import yaml

    from clusters.kube.client import KubeClient
    from clusters.kube.transport import Transport, build_api_client

    grant_documented_access(live_sandbox, settings, cluster_role_rules, environment_role_rules)
    succeeded(services.environment_provision(actor=owner, environment=live_environment))
    kube = KubeClient(Transport(build_api_client(yaml.safe_dump(live_sandbox.kubeconfig()))))
    namespace = live_environment.namespace
    for verb in ("get", "list"):
        assert kube.can_i(verb, "secrets", namespace=namespace)[0] is True
        for elsewhere in ("kube-system", "default", "hangar-system", None):
            assert kube.can_i(verb, "secrets", namespace=elsewhere)[0] is False, elsewhere
    # And the binding cannot be pointed at a more powerful role.
    binding = live_sandbox.get_object(
        "rbac.authorization.k8s.io/v1", "RoleBinding", "hangar", namespace
    )
    binding["roleRef"]["name"] = "cluster-admin"
    binding["metadata"] = {"name": "admin", "namespace": namespace}
    from clusters.kube.errors import KubeForbidden

    with pytest.raises(KubeForbidden, match='cannot bind resource "clusterroles"'):
        kube.create(binding)


def without(rules: list[dict], resource: str, verb: str) -> list[dict]:
    return [
        rule | {"verbs": [v for v in rule["verbs"] if v != verb]}
        if resource in rule["resources"]
        else rule
        for rule in rules
    ]


def test_the_sandbox_really_refuses_what_the_role_does_not_grant(
    live_sandbox, live_environment, owner, cluster_role_rules, environment_role_rules, settings
):
    """The control: without `create jobs`, a one-off command fails at once with the API
    server's message, and nothing else was needed to get that far."""
    grant_documented_access(
        live_sandbox,
        settings,
        cluster_role_rules,
        without(environment_role_rules, "jobs", "create"),
    )
    succeeded(services.environment_provision(actor=owner, environment=live_environment))
    op = services.environment_run_command(actor=owner, environment=live_environment, command="ls")
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert 'cannot create resource "jobs"' in op.error, op.error
    assert op.attempts == 1  # a 403 is permanent: not retried


def test_an_apply_that_creates_needs_create_as_upstream(
    live_sandbox, live_environment, owner, cluster_role_rules, environment_role_rules, settings
):
    grant_documented_access(
        live_sandbox,
        settings,
        cluster_role_rules,
        without(environment_role_rules, "secrets", "create"),
    )
    op = services.environment_provision(actor=owner, environment=live_environment)
    drain()
    op.refresh_from_db()
    assert op.status == S.FAILED
    assert 'cannot create resource "serviceaccounts"' in op.error, op.error


@pytest.mark.parametrize(
    ("verb", "resource", "group"),
    [
        ("create", "namespaces", ""),
        ("create", "rolebindings", "rbac.authorization.k8s.io"),
        ("list", "nodes", ""),
    ],
)
def test_access_reviews_follow_the_granted_rules(live_sandbox, verb, resource, group):
    import yaml

    from clusters.kube.client import KubeClient
    from clusters.kube.transport import Transport, build_api_client

    kube = KubeClient(Transport(build_api_client(yaml.safe_dump(live_sandbox.kubeconfig()))))
    live_sandbox.allow_only([])
    assert kube.can_i(verb, resource, group=group)[0] is False
    live_sandbox.allow_only(hangar_cluster_role()["rules"])
    assert kube.can_i(verb, resource, group=group)[0] is True
