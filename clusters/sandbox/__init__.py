"""A Kubernetes API emulator that the official client talks to over plain HTTP.

Used by the test suite as the cluster integration tests talk to, and as the
sandbox cluster of the dev server (``python -m clusters.sandbox``). Standard
library only (PyYAML for YAML apply bodies); no Django.
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
