"""What a proposed change would do to the monthly bill, before anybody confirms it.

Figures are full-month amounts at today's prices: every month has at least 672 hours, so a
node running all month costs exactly its monthly price. Amounts are what the client pays
(markup included), except for capacity added to a shared pool, which the agency pays.

- Shared pool: an environment is priced at its marginal share of the pool as it is now:
  max(CPU share, memory share) x nodes x node price, plus its part of the cluster's fixed
  items. Other clients' requests are assumed unchanged; if the pool is overcommitted,
  shares are scaled down at billing time and the bill comes out lower.
- Dedicated pool: the client pays the whole pool whatever runs on it, so a change that fits
  costs nothing more; one that does not fit needs nodes, priced directly (an autoscaling
  pool adds them itself, up to its maximum; a fixed pool must be grown first).
- Autoscaling: billed at the minimum replicas (what sampling counts); the maximum is shown
  as the most it could cost.

Notes (`assumptions`) are written for whoever asks: agency staff read the node prices and
markup behind a figure, a client's people only what they pay (never the agency's cost, node
price or markup), as in every portal page, API response, email and PDF a client gets.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from billing.costs import cluster_item_costs
from billing.models import ClusterCostItem, NodePrice
from billing.models.prices import billing_currency
from billing.money import ZERO, to_cents, with_markup
from billing.periods import local_today
from billing.sampling import billed_pods, default_pools, pool_capacity
from clusters.models import Cluster, NodePool
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, can
from controlpanel.core.tenancy import is_agency_staff
from sites.manifests.common import Resources
from sites.manifests.policy import pod_resources
from sites.models import Environment, Site
from sites.services.capacity import environment_capacity_check

_MI = 2**20


@dataclass(frozen=True)
class Estimate:
    """A monthly difference: before, after, difference, in `currency`."""

    currency: str
    before: Decimal
    after: Decimal
    payer: str  # "client" or "agency"
    basis: str  # "shared_pool", "dedicated_pool", "shared_capacity", "unplaced"
    client_id: int | None = None
    after_max: Decimal | None = None  # autoscaling: the most it could cost
    assumptions: list[str] = field(default_factory=list)
    # More pods than the nodes hold (sites.services.capacity): they would stay Pending.
    warnings: list[str] = field(default_factory=list)

    @property
    def difference(self) -> Decimal:
        return self.after - self.before

    @property
    def difference_max(self) -> Decimal | None:
        return None if self.after_max is None else self.after_max - self.before

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "before": str(self.before),
            "after": str(self.after),
            "difference": str(self.difference),
            "after_max": None if self.after_max is None else str(self.after_max),
            "difference_max": None if self.difference_max is None else str(self.difference_max),
            "payer": self.payer,
            "basis": self.basis,
            "client_id": self.client_id,
            "warnings": list(self.warnings),
            "assumptions": list(self.assumptions),
        }


def _allow(actor: User, client: Client | None, *actions: Action) -> None:
    """Estimates are for whoever may make the change or see the client's billing."""
    if not any(can(actor, action, client) for action in (*actions, Action.VIEW_BILLING)):
        raise PermissionDenied("You are not allowed to see what this change would cost.")


def _node_price(pool: NodePool, today: datetime.date) -> Decimal:
    price = NodePrice.objects.in_effect_on(today).filter(size_id=pool.size_id).first()
    if price is None:
        raise ValidationError(
            {"node_pool": f"{pool.size} has no price on {today:%Y-%m-%d}; add its node price."}
        )
    return price.monthly_price


def _cluster_factor(cluster: Cluster, today: datetime.date) -> Decimal:
    """Fixed cluster items per unit of node cost, at today's nodes and prices."""
    month = today.replace(day=1)
    items = ClusterCostItem.objects.filter(cluster=cluster, effective_from__lte=today).exclude(
        ends_on__lt=today
    )
    monthly_items = sum(
        (price for _, price in cluster_item_costs(list(items), month).get(cluster.pk, [])), ZERO
    )
    if not monthly_items:
        return ZERO
    prices = {p.size_id: p.monthly_price for p in NodePrice.objects.in_effect_on(today)}
    node_cost = sum((p.count * prices.get(p.size_id, ZERO) for p in cluster.node_pools.all()), ZERO)
    return monthly_items / node_cost if node_cost else ZERO


@dataclass(frozen=True)
class _Placement:
    pool: NodePool | None
    node_price: Decimal
    cluster_factor: Decimal


def _placement(cluster: Cluster, pool: NodePool | None, today: datetime.date) -> _Placement:
    if pool is None:
        pool = default_pools(list(cluster.node_pools.select_related("size"))).get(cluster.pk)
    if pool is None:
        return _Placement(None, ZERO, ZERO)
    return _Placement(pool, _node_price(pool, today), _cluster_factor(cluster, today))


def _share(resources: Resources, pods: int, pool: NodePool) -> Decimal:
    capacity = pool_capacity(pool)
    if pods <= 0 or capacity.cpu <= 0 or capacity.memory_mib <= 0:
        return ZERO
    cpu = Decimal(resources.cpu_request * pods) / capacity.cpu
    memory = Decimal(resources.memory_request * pods // _MI) / capacity.memory_mib
    return max(cpu, memory)


def _shared_price(place: _Placement, resources: Resources, pods: int, markup: Decimal) -> Decimal:
    pool = place.pool
    if pool is None:
        return ZERO
    cost = _share(resources, pods, pool) * pool.count * place.node_price
    return with_markup(to_cents(cost * (1 + place.cluster_factor)), markup)


def _dedicated_price(place: _Placement, nodes: int, markup: Decimal) -> Decimal:
    cost = nodes * place.node_price * (1 + place.cluster_factor)
    return with_markup(to_cents(cost), markup)


def _environment_change(
    *,
    actor: User,
    client: Client,
    cluster: Cluster,
    pool: NodePool | None,
    resources_before: Resources | None,
    pods_before: int,
    resources_after: Resources,
    pods_after: int,
    pods_after_max: int | None,
    today: datetime.date | None,
) -> Estimate:
    today = today or local_today()
    place = _placement(cluster, pool, today)
    markup = client.markup_percent
    currency = billing_currency()
    if place.pool is None:
        return Estimate(
            currency, ZERO, ZERO, "client", "unplaced", client.pk, None,
            ["The cluster has no shared node pool; nothing is billed until it has one."],
        )  # fmt: skip
    pool = place.pool
    if pool.is_shared:
        before = (
            _shared_price(place, resources_before, pods_before, markup)
            if resources_before is not None
            else ZERO
        )
        after = _shared_price(place, resources_after, pods_after, markup)
        after_max = (
            _shared_price(place, resources_after, pods_after_max, markup)
            if pods_after_max is not None
            else None
        )
        return Estimate(
            currency,
            before,
            after,
            "client",
            "shared_pool",
            client.pk,
            after_max,
            [
                f"Priced at the marginal share of shared pool {pool.cluster.slug}/{pool.name} "
                f"({pool.count} x {pool.size.slug} at {place.node_price}/month): the larger of "
                "the CPU and memory requested, as a share of the pool, times its cost.",
                "Other clients' requests are assumed unchanged; today's prices; "
                f"{markup}% markup included.",
            ]
            if is_agency_staff(actor)
            else [
                f"Priced at the marginal share of shared pool {pool.cluster.slug}/{pool.name}: "
                "the larger of the CPU and memory requested, as a share of the pool, times "
                "what the pool costs you per month.",
                "Other clients' requests are assumed unchanged; today's prices.",
            ],
        )
    # Dedicated: the client already pays the whole pool; only more nodes cost more.
    before_nodes = pool.count
    after_nodes = _fit(
        pool, before_nodes, resources_before, pods_before, resources_after, pods_after
    )
    assumptions = [
        f"Dedicated pool {pool.cluster.slug}/{pool.name}: the client pays its "
        f"{before_nodes} x {pool.size.slug} nodes ({place.node_price}/month each) whatever "
        f"runs on it; {markup}% markup included."
        if is_agency_staff(actor)
        else f"Dedicated pool {pool.cluster.slug}/{pool.name}: you pay for its {before_nodes} "
        f"x {pool.size.slug} nodes whatever runs on them."
    ]
    after_max_nodes = (
        _fit(pool, before_nodes, resources_before, pods_before, resources_after, pods_after_max)
        if pods_after_max is not None
        else None
    )
    if after_nodes > before_nodes and not pool.autoscale:
        assumptions.append(
            f"The change does not fit: the pool needs {after_nodes} nodes. Pods would stay "
            "pending until nodes are added; the difference shows what those nodes cost."
        )
    if pool.autoscale and pool.max_nodes is not None and after_nodes > pool.max_nodes:
        assumptions.append(
            f"The change needs {after_nodes} nodes, more than the pool's autoscaling maximum "
            f"of {pool.max_nodes}."
        )
    return Estimate(
        currency,
        _dedicated_price(place, before_nodes, markup),
        _dedicated_price(place, after_nodes, markup),
        "client",
        "dedicated_pool",
        client.pk,
        None if after_max_nodes is None else _dedicated_price(place, after_max_nodes, markup),
        assumptions,
    )


def _fit(
    pool: NodePool,
    nodes: int,
    resources_before: Resources | None,
    pods_before: int,
    resources_after: Resources,
    pods_after: int,
) -> int:
    """Nodes the pool needs after replacing the environment's old pods with the new ones;
    never fewer than it has (nobody shrinks a pool by scaling a site)."""
    capacity = pool_capacity(pool)
    per_cpu = capacity.cpu / nodes if nodes else pool.size.vcpu * 1000
    per_mem = capacity.memory_mib / nodes if nodes else pool.size.memory_mib
    used_cpu = used_mem = 0
    for environment in pool.environments.exclude(status=Environment.Status.NEW).exclude(image=""):
        resources, count = pod_resources(environment), billed_pods(environment)
        used_cpu += resources.cpu_request * count
        used_mem += resources.memory_request * count // _MI
    if resources_before is not None:
        used_cpu -= resources_before.cpu_request * pods_before
        used_mem -= resources_before.memory_request * pods_before // _MI
    used_cpu += resources_after.cpu_request * pods_after
    used_mem += resources_after.memory_request * pods_after // _MI
    return max(nodes, math.ceil(used_cpu / per_cpu), math.ceil(used_mem / per_mem))


def _candidate(environment: Environment, **changes: Any) -> Environment:
    candidate = Environment(
        **{f.attname: getattr(environment, f.attname) for f in Environment._meta.concrete_fields}
    )
    for name, value in changes.items():
        setattr(candidate, name, value)
    candidate.clean()  # field-keyed errors, as the action itself would give
    return candidate


def _counted_before(environment: Environment) -> tuple[Resources | None, int]:
    running = environment.status != Environment.Status.NEW and bool(environment.image)
    if not running:
        return None, 0
    return pod_resources(environment), billed_pods(environment)


def _replicas_change(
    actor: User,
    client: Client,
    environment: Environment,
    after: Environment,
    *,
    pods: int,
    pods_max: int | None,
    today: datetime.date | None,
) -> Estimate:
    """The environment as it runs now against `after` with `pods` (up to `pods_max`)."""
    resources_before, pods_before = _counted_before(environment)
    return _environment_change(
        actor=actor,
        client=client,
        cluster=environment.cluster,
        pool=environment.node_pool,
        resources_before=resources_before,
        pods_before=pods_before,
        resources_after=pod_resources(after),
        pods_after=pods,
        pods_after_max=pods_max,
        today=today,
    )


def estimate_scale(
    *, actor: User, environment: Environment, replicas: int, today: datetime.date | None = None
) -> Estimate:
    """Scale to a fixed number of replicas (autoscaling off)."""
    client = environment.site.client
    _allow(actor, client, Action.SCALE)
    after = _candidate(environment, replicas=replicas, autoscale_enabled=False)
    # What no node can run is refused here as by the scale itself.
    warnings = environment_capacity_check(after, pods=replicas)
    estimate = _replicas_change(
        actor, client, environment, after, pods=replicas, pods_max=None, today=today
    )
    estimate.warnings.extend(warnings)
    return estimate


def estimate_autoscale(
    *,
    actor: User,
    environment: Environment,
    max_replicas: int,
    min_replicas: int | None = None,
    today: datetime.date | None = None,
) -> Estimate:
    """Turn autoscaling on (or change its bounds): billed at the minimum, up to the maximum."""
    client = environment.site.client
    _allow(actor, client, Action.SCALE)
    minimum = environment.autoscale_min if min_replicas is None else min_replicas
    after = _candidate(
        environment, autoscale_enabled=True, autoscale_min=minimum, autoscale_max=max_replicas
    )
    warnings = environment_capacity_check(after, pods=max_replicas)
    estimate = _replicas_change(
        actor, client, environment, after, pods=minimum, pods_max=max_replicas, today=today
    )
    estimate.assumptions.append(
        f"Autoscaling is billed at its minimum of {minimum} pods (what runs without load); "
        f"at its maximum of {max_replicas} pods the month would cost {estimate.after_max}."
    )
    estimate.warnings.extend(warnings)
    return estimate


def estimate_environment_add(
    *,
    actor: User,
    site: Site,
    cluster: Cluster,
    node_pool: NodePool | None = None,
    today: datetime.date | None = None,
    **settings: Any,
) -> Estimate:
    """A new environment of `site` with the given settings (replicas, requests, varnish,
    autoscaling), as environment_create would make it."""
    client = site.client
    _allow(actor, client, Action.MANAGE_SITES)
    settings.setdefault("varnish_enabled", site.kind == "drupal")
    settings.setdefault("image", "registry.invalid/estimate:1")
    candidate = Environment(site=site, cluster=cluster, node_pool=node_pool, **settings)
    # Field-keyed errors for replicas, requests and autoscaling, as environment_create gives.
    candidate.clean_fields(exclude=["site", "cluster", "node_pool", "name", "slug", "hash_salt"])
    candidate.clean()
    resources = pod_resources(candidate)
    autoscale = candidate.autoscale_enabled
    return _environment_change(
        actor=actor,
        client=client,
        cluster=cluster,
        pool=node_pool,
        resources_before=None,
        pods_before=0,
        resources_after=resources,
        pods_after=billed_pods(candidate),
        pods_after_max=candidate.autoscale_max if autoscale else None,
        today=today,
    )


def estimate_previews(
    *, actor: User, site: Site, cluster: Cluster, node_pool: NodePool | None, max_alive: int
) -> dict[str, Any]:
    """What `max_alive` previews of `site` would add to the month at most: one preview's
    estimate (an environment as environment_create makes it) times max_alive. Here, not in
    sites.previews: prices are billing's, and sites does not import billing."""
    one = estimate_environment_add(actor=actor, site=site, cluster=cluster, node_pool=node_pool)
    return {
        "currency": one.currency,
        "per_preview": one.difference,
        "max_alive": max_alive,
        "most": one.difference * max_alive,
        "payer": one.payer,
        "assumptions": list(one.assumptions),
        "warnings": list(one.warnings),
    }


def estimate_pool_nodes(
    *, actor: User, pool: NodePool, add: int, today: datetime.date | None = None
) -> Estimate:
    """Add `add` nodes to a pool (negative removes). A dedicated pool's client pays them
    directly; in a shared pool they are capacity the agency pays until clients request it."""
    client = pool.dedicated_client
    if client is not None:
        _allow(actor, client, Action.MANAGE_CLUSTERS)
    elif not (can(actor, Action.MANAGE_CLUSTERS) or can(actor, Action.MANAGE_PRICING)):
        raise PermissionDenied("You are not allowed to see what this change would cost.")
    after_count = pool.count + add
    if after_count < 0 or after_count > 1000:
        raise ValidationError({"count": f"A pool holds 0 to 1000 nodes, not {after_count}."})
    today = today or local_today()
    place = _Placement(pool, _node_price(pool, today), _cluster_factor(pool.cluster, today))
    if client is not None:
        note = (
            f"Dedicated pool {pool.cluster.slug}/{pool.name}: each node is a direct cost of "
            f"{place.node_price}/month plus its part of the cluster's fixed costs; "
            f"{client.markup_percent}% markup included."
            if is_agency_staff(actor)
            else f"Dedicated pool {pool.cluster.slug}/{pool.name}: each node adds "
            f"{_dedicated_price(place, 1, client.markup_percent)} {billing_currency()} a month "
            "to your bill."
        )
        return Estimate(
            billing_currency(),
            _dedicated_price(place, pool.count, client.markup_percent),
            _dedicated_price(place, after_count, client.markup_percent),
            "client",
            "dedicated_pool",
            client.pk,
            None,
            [note],
        )
    cost = place.node_price * (1 + place.cluster_factor)
    return Estimate(
        billing_currency(),
        to_cents(pool.count * cost),
        to_cents(after_count * cost),
        "agency",
        "shared_capacity",
        None,
        None,
        [
            f"Shared pool {pool.cluster.slug}/{pool.name}: new capacity is agency overhead until "
            "clients request it; no client's bill changes. Agency cost, no markup."
        ],
    )
