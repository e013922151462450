"""CustomResourceDefinition builders, for preloading a sandbox with CRDs such as cert-manager's."""

from __future__ import annotations

from typing import Any


def crd(
    group: str,
    kind: str,
    plural: str,
    *,
    versions: tuple[str, ...] = ("v1",),
    scope: str = "Namespaced",
    short_names: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    status_subresource: bool = True,
) -> dict[str, Any]:
    """A minimal apiextensions.k8s.io/v1 CRD that the sandbox will also serve."""
    names: dict[str, Any] = {
        "plural": plural,
        "singular": kind.lower(),
        "kind": kind,
        "listKind": f"{kind}List",
    }
    if short_names:
        names["shortNames"] = list(short_names)
    if categories:
        names["categories"] = list(categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": names,
            "scope": scope,
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": index == 0,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                    **({"subresources": {"status": {}}} if status_subresource else {}),
                }
                for index, version in enumerate(versions)
            ],
        },
    }


def cert_manager_crds() -> list[dict[str, Any]]:
    """The six CRDs a cert-manager install adds."""
    return [
        crd(
            "cert-manager.io",
            "Certificate",
            "certificates",
            short_names=("cert", "certs"),
            categories=("cert-manager",),
        ),
        crd(
            "cert-manager.io",
            "CertificateRequest",
            "certificaterequests",
            short_names=("cr", "crs"),
            categories=("cert-manager",),
        ),
        crd("cert-manager.io", "Issuer", "issuers", categories=("cert-manager",)),
        crd(
            "cert-manager.io",
            "ClusterIssuer",
            "clusterissuers",
            scope="Cluster",
            categories=("cert-manager",),
        ),
        crd(
            "acme.cert-manager.io",
            "Order",
            "orders",
            categories=("cert-manager", "cert-manager-acme"),
        ),
        crd(
            "acme.cert-manager.io",
            "Challenge",
            "challenges",
            categories=("cert-manager", "cert-manager-acme"),
        ),
    ]
