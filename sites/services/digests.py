"""What a release really runs: the digests its pods report (containerStatuses[].imageID),
recorded after every rollout, restart, scale and drift check.

A tag can be pushed again at any time; the recorded digest is what promote and rollback
deploy, and a pod that pulled another digest since is counted so the portal and the API
can flag it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.utils import timezone

from clusters.kube.status import pod_digests
from sites.manifests.common import WEB, selector_labels
from sites.models import Environment, Release
from sites.validators import parse_image_reference


def live_release(environment: Environment) -> Release | None:
    """The newest release that went live: what the environment runs."""
    return environment.releases.filter(status=Release.Status.SUCCEEDED).first()


def web_pod_digests(kube: Any, environment: Environment) -> dict[str, str]:
    """Pod name → the digest its web container runs (one LIST of the web pods)."""
    pods = kube.list(
        "v1", "Pod", environment.namespace, label_selector=selector_labels(environment, WEB)
    )
    return pod_digests(pods, WEB)


def release_record_digests(release: Release | None, digests: dict[str, str], *, pin: bool) -> None:
    """Record on `release` how many web pods run each digest; with `pin` (the rollout of
    this very release) also the digest it runs: the one it was pinned to, or else the one
    most of its pods pulled for its tag."""
    if release is None or not digests:
        return
    counts = Counter(digests.values())
    fields: dict[str, Any] = {"pod_digests": dict(counts), "digests_seen_at": timezone.now()}
    if pin:
        fields["digest"] = (
            parse_image_reference(release.image).digest or counts.most_common(1)[0][0]
        )
    Release.objects.filter(pk=release.pk).update(**fields)
    for name, value in fields.items():
        setattr(release, name, value)
