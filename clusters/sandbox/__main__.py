"""``python -m clusters.sandbox --port 8001``: run the sandbox cluster in the foreground."""

from __future__ import annotations

import argparse
import logging

from .cluster import SandboxCluster
from .crds import cert_manager_crds
from .demo import demo_nodes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m clusters.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument(
        "--rollout-delay",
        type=float,
        default=2.0,
        help="seconds a Deployment takes to become available",
    )
    parser.add_argument(
        "--job-duration", type=float, default=3.0, help="seconds a Job runs before it completes"
    )
    parser.add_argument("--namespace-deletion-delay", type=float, default=1.0)
    parser.add_argument(
        "--nodes",
        type=int,
        default=None,
        help="worker Nodes to create in one pool (default: the demo's node pools)",
    )
    parser.add_argument(
        "--no-cert-manager", action="store_true", help="do not preload the cert-manager CRDs"
    )
    parser.add_argument("--kubeconfig", default=None, help="write a kubeconfig to this path")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--execute-tool-jobs",
        action="store_true",
        help='run Jobs labelled hangar.dev/tool: "true" (backups, restores) as local processes',
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    sandbox = SandboxCluster(
        args.host,
        args.port,
        token=args.token,
        rollout_delay=args.rollout_delay,
        job_duration=args.job_duration,
        namespace_deletion_delay=args.namespace_deletion_delay,
        nodes=demo_nodes()
        if args.nodes is None
        else [{"name": f"sandbox-pool-{i + 1}", "pool": "sandbox-pool"} for i in range(args.nodes)],
        objects=[] if args.no_cert_manager else cert_manager_crds(),
        verbose=args.verbose,
        execute_tool_jobs=args.execute_tool_jobs,
    ).start()
    if args.kubeconfig:
        sandbox.write_kubeconfig(args.kubeconfig)
        print(f"kubeconfig written to {args.kubeconfig}", flush=True)
    print(f"sandbox cluster listening on {sandbox.url}", flush=True)
    sandbox.serve_forever()


if __name__ == "__main__":
    main()
