"""The operation engine: runs Operations one at a time per lock key, records their steps,
retries transient failures, and recovers work whose worker died.

`sites` registers a handler per operation kind; the engine knows nothing of sites.
"""

from clusters.engine.context import OperationContext, OperationFailed
from clusters.engine.registry import register
from clusters.engine.runner import run_operation
from clusters.engine.services import operation_cancel, operation_create

__all__ = [
    "OperationContext",
    "OperationFailed",
    "operation_cancel",
    "operation_create",
    "register",
    "run_operation",
]
