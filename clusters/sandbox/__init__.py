"""A Kubernetes API emulator that the official client talks to over plain HTTP.

Used by the test suite as the cluster integration tests talk to, and as the
sandbox cluster of the dev server (``python -m clusters.sandbox``). No Django:
the standard library, PyYAML for YAML bodies, and the upstream OpenAPI schemas of
the one Kubernetes minor it answers as (``schemas.KUBERNETES_MINOR``), read from
the files kubernetes-validate installs (a development dependency).
"""

from .access import DenyRule
from .cluster import SandboxCluster
from .crds import cert_manager_crds, crd
from .errors import ApiError
from .faults import FaultRule, RequestRecord

__all__ = [
    "ApiError",
    "DenyRule",
    "FaultRule",
    "RequestRecord",
    "SandboxCluster",
    "cert_manager_crds",
    "crd",
]
