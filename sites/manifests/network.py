"""How traffic reaches the environment: Service, Ingress and NetworkPolicy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sites.manifests.common import NAME_LABEL, WEB, Manifest, metadata, selector_labels

if TYPE_CHECKING:
    from sites.models import Domain, Environment

TLS_SECRET = "web-tls"  # noqa: S105 - an object name, not a password


def ordered_domains(domains: Sequence[Domain]) -> list[Domain]:
    """Primary first, then by hostname (the model's ordering, enforced for any queryset)."""
    return sorted(domains, key=lambda domain: (not domain.is_primary, domain.hostname))


def render_service(environment: Environment) -> Manifest:
    # With Varnish every request goes through the cache; otherwise straight to the site.
    target = "cache" if environment.varnish_enabled else "http"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(environment, WEB, labels={NAME_LABEL: WEB}),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(environment, WEB),
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": target}],
        },
    }


def render_ingress(environment: Environment, domains: Sequence[Domain]) -> Manifest | None:
    """The Ingress for the environment's domains, or None when it has none."""
    if not domains:
        return None
    domains = ordered_domains(domains)
    cluster = environment.cluster
    tls_hosts = [domain.hostname for domain in domains if domain.tls_enabled]
    annotations = None
    if tls_hosts:
        annotations = {"cert-manager.io/cluster-issuer": cluster.cert_manager_issuer}
    spec: Manifest = {
        "ingressClassName": cluster.ingress_class,
        "rules": [
            {
                "host": domain.hostname,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": WEB, "port": {"number": 80}}},
                        }
                    ]
                },
            }
            for domain in domains
        ],
    }
    if tls_hosts:
        spec["tls"] = [{"hosts": tls_hosts, "secretName": TLS_SECRET}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(environment, WEB, labels={NAME_LABEL: WEB}, annotations=annotations),
        "spec": spec,
    }


def render_network_policy(environment: Environment) -> Manifest:
    """Admit traffic from the namespace itself and from the ingress controller only.

    Egress stays open: the database, object storage and mail servers are outside the cluster.
    """
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(environment, "default"),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {}},
                        {
                            "namespaceSelector": {
                                "matchLabels": {
                                    "kubernetes.io/metadata.name": (
                                        environment.cluster.ingress_namespace
                                    )
                                }
                            }
                        },
                    ]
                }
            ],
        },
    }
