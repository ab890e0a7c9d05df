"""The scheduler's view of prepaid plans: each subscribed tenant's parallelism cap.

A tenant whose wallet has a live plan period gets a :class:`ParallelismCap` with the plan's
``parallelism`` and the catalog's card weights (spec 10 §2.3; J5: after an upgrade the higher
plan's cap applies at once, since ``current_plan`` already returns it). Postpaid tenants and
wallets without a live period (trial grants, arrears only) have no cap: the minimum-balance
gate and the exhausted-wallet policy govern them instead (``billing.gates``).

Card weights are looked up by the catalog key, name or label of the card model, case
insensitive, so an inventory reporting ``DC100 (Hopper) 80G`` and a spec asking for
``dc100-80g`` weigh the same; a model the catalog does not know weighs 1 per card.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from hangar.billing.catalog import DEFAULT_CATALOG, Catalog
from hangar.billing.service import load_wallet
from hangar.billing.subscriptions import advance, current_plan
from hangar.scheduling.model import ParallelismCap


def card_weights(catalog: Catalog) -> dict[str, int]:
    weights: dict[str, int] = {}
    for card in catalog.cards:
        for name in (card.key, card.name, card.label):
            weights[name.lower()] = card.parallelism_weight
    return weights


def plan_caps(
    session: Session,
    tenant_ids: Iterable[str],
    *,
    now: datetime,
    catalog: Catalog = DEFAULT_CATALOG,
) -> dict[str, ParallelismCap]:
    """The caps of those of ``tenant_ids`` that have a live plan period at ``now``."""
    weights = card_weights(catalog)
    caps: dict[str, ParallelismCap] = {}
    for tenant_id in sorted(set(tenant_ids)):
        wallet = load_wallet(session, tenant_id=tenant_id, catalog=catalog)
        if wallet is None:
            continue
        if now > wallet.as_of:
            wallet = advance(wallet, to=now, catalog=catalog).wallet
        if wallet.period is None:
            continue
        plan = current_plan(wallet, catalog=catalog)
        caps[tenant_id] = ParallelismCap(plan=plan.name, cap=plan.parallelism, weights=weights)
    return caps
