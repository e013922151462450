"""Domains show where DNS must point and the certificate's state, as the cluster says."""

from __future__ import annotations

from sites import selectors, services
from tests.engine import drain, provisioned


def test_routing_reads_the_ingress_and_the_certificate(live_environment, owner):
    environment = provisioned(live_environment, owner)
    services.domain_add(actor=owner, environment=environment, hostname="www.acme.test")
    drain()
    routing = selectors.environment_routing(actor=owner, environment=environment)
    # The emulator's Ingress has no load balancer address, and without cert-manager's API
    # there is no Certificate to report on: both say "not yet", neither is an error.
    assert routing == selectors.Routing()
