"""Domains show where DNS must point and the certificate's state, as the cluster says."""

from __future__ import annotations

from sites import selectors, services
from tests.engine import drain, provisioned


def test_routing_reads_the_ingress_and_the_certificate(live_environment, owner, live_kube):
    environment = provisioned(live_environment, owner)
    services.domain_add(actor=owner, environment=environment, hostname="www.acme.test")
    drain()
    routing = selectors.environment_routing(actor=owner, environment=environment)
    # The emulator's Ingress has no load balancer address; no cert-manager made a Certificate.
    assert routing == selectors.Routing()
    live_kube.create(
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "web-tls", "namespace": environment.namespace},
            "spec": {"secretName": "web-tls", "dnsNames": ["www.acme.test"]},
        }
    )
    routing = selectors.environment_routing(actor=owner, environment=environment)
    assert routing.certificate == "not ready"
    assert routing.certificate_message == "cert-manager has not reported on it yet."
