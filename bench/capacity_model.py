"""Capacity of one issuer and company account pair on Mainnet: purchases and holder payments an
hour, which limit binds first, and what happens at 10x and 100x a base load.

A ledger-by-ledger simulation of the platform's Ticket pools (lambdas/ledger_adapter/submission.py:
TicketPolicy; a refill is one TicketCreate on the account's Sequence, validated `--rounds`
ledgers later), under the open ledger's expected size (past it rippled's open-ledger fee is at
least 500 times the base fee, above MAX_FEE_DROPS, so the platform waits rather than pays), next
to the AWS quotas a purchase and a payment use. The per-flow counts are the benchmarks' (see
docs/performance.md, where each was measured); the limits are rippled's and AWS's documented
defaults, each named below. Nothing here talks to a network.

Usage: .venv/bin/python bench/capacity_model.py [--purchases-per-hour 1000]
       [--payments-per-hour 10000] [--expected-ledger-size 32] [--batch 40]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.signing_policy import MAX_FEE_DROPS
from lambdas.ledger_adapter.submission import TicketPolicy

LEDGER_SECONDS = 4.0  # Mainnet closes every 3-5 s; the platform paces checks at 4 (cdk)
LEDGERS_PER_HOUR = 3600 / LEDGER_SECONDS
ESCALATION_MULTIPLIER = 500  # rippled TxQ: open-ledger fee past the expected size, x base fee
BASE_FEE_DROPS = 10

# Ledger transactions per flow and account, as the workflows submit them (measured: the saga's
# `transactions` output, bench/purchase_latency.py; the distribution bench).
PER_PURCHASE = {"issuer": 1.0, "company": 1.0, "investor": 1.0}  # mint; deliver; pay company
FIRST_PURCHASE_EXTRA = {"issuer": 1.0, "investor": 1.0}  # authorize the EUR line; MPToken
PER_PAYMENT = {"company": 1.0}  # the coupon or principal Payment

# AWS per flow (bench/purchase_cost.py, bench/distribution_bench.py) and the quotas they use
# (defaults in eu-west-1: Step Functions Standard state transitions 5,000/s, StartExecution
# 300/s refill; KMS ECC Sign 300/s shared per account and region; Lambda 1,000 concurrent).
AWS_PER_PURCHASE = {"transitions": 29.0, "executions": 1.0, "kms_sign": 2.33, "lambda_s": 1.2}
# A holder payment (bench/distribution_bench.py at 5942bd7, 1,000 holders): the Map's child
# execution, Pay holder and its Choice twice (one ledger re-check, as Mainnet's paced Wait makes:
# domain/ledger_cadence.py), Notify holder, At maturity?, the end. Income an investor chose to
# have paid to their bank adds a withdrawal (bench/withdrawal_bench.py), not modelled here.
# Lambda: 4.1 requests at about 0.25 s each.
AWS_PER_PAYMENT = {"transitions": 8.0, "executions": 1.0, "kms_sign": 1.12, "lambda_s": 1.0}
AWS_QUOTAS_PER_S = {"transitions": 5000.0, "executions": 300.0, "kms_sign": 300.0,
                    "lambda_s": 1000.0}  # fmt: skip


@dataclass
class Pool:
    """One account's Tickets: what a transaction may use now, and the refill in flight."""

    policy: TicketPolicy
    rounds: int
    available: int = 0
    refill_lands_at: int | None = None

    def __post_init__(self) -> None:
        self.available = self.policy.batch_size + self.policy.low_water

    def offer(self, ledger: int, wanted: float) -> float:
        if self.refill_lands_at == ledger:
            room = self.policy.max_tickets - self.available
            self.available += min(self.policy.batch_size, room)
            self.refill_lands_at = None
        return min(wanted, self.available)

    def use(self, ledger: int, used: float) -> None:
        self.available -= round(used)
        if self.available < self.policy.low_water and self.refill_lands_at is None:
            self.refill_lands_at = ledger + self.rounds


# Investors each sign on their own account's Sequence: no shared pool limits them.
POOLED = ("issuer", "company")


def simulate(
    demand_per_ledger: dict[str, float], policy: TicketPolicy, rounds: int, expected: int,
    ledgers: int = 900,
) -> dict[str, float]:  # fmt: skip
    """Transactions each account gets validated an hour, a backlog carried over: the issuer's
    and the company's limited by their Ticket pools, all together by `expected` a ledger."""
    pools = {account: Pool(policy, rounds) for account in POOLED}
    backlog = dict.fromkeys(demand_per_ledger, 0.0)
    served = dict.fromkeys(demand_per_ledger, 0.0)
    for ledger in range(ledgers):
        offered = {}
        for account, wanted in demand_per_ledger.items():
            backlog[account] += wanted
            pool = pools.get(account)
            offered[account] = pool.offer(ledger, backlog[account]) if pool else backlog[account]
        for account, done in shared(offered, demand_per_ledger, expected).items():
            if account in pools:
                pools[account].use(ledger, done)
            backlog[account] -= done
            served[account] += done
    return {account: served[account] * LEDGERS_PER_HOUR / ledgers for account in served}


def shared(offered: dict[str, float], demand: dict[str, float], room: float) -> dict[str, float]:
    """The open ledger's room, shared in proportion to each account's steady demand (a
    backlog earns no bigger share); what one cannot use goes to the others."""
    done = dict.fromkeys(offered, 0.0)
    wanting = {a for a, o in offered.items() if o > 0}
    while room > 1e-9 and wanting:
        weight = sum(demand[a] for a in wanting) or len(wanting)
        given = {a: room * (demand[a] or 1) / weight for a in wanting}
        for account in list(wanting):
            take = min(given[account], offered[account] - done[account])
            done[account] += take
            room -= take
            if offered[account] - done[account] <= 1e-9:
                wanting.discard(account)
        if all(given[a] <= offered[a] - done[a] + 1e-9 for a in wanting):
            break
    return done


def ledger_demand(purchases: float, payments: float, first_share: float) -> dict[str, float]:
    """Transactions a ledger for the issuer, the company and (all) investors."""
    per_ledger = {"issuer": 0.0, "company": 0.0, "investor": 0.0}
    for account in per_ledger:
        per_purchase = PER_PURCHASE.get(account, 0) + first_share * FIRST_PURCHASE_EXTRA.get(
            account, 0
        )
        per_ledger[account] = (
            purchases * per_purchase + payments * PER_PAYMENT.get(account, 0)
        ) / LEDGERS_PER_HOUR
    return per_ledger


def aws_use(purchases: float, payments: float) -> dict[str, float]:
    """The share of each AWS quota the hourly load uses at its average rate."""
    use = {}
    for name, quota in AWS_QUOTAS_PER_S.items():
        per_hour = purchases * AWS_PER_PURCHASE[name] + payments * AWS_PER_PAYMENT[name]
        use[name] = per_hour / 3600 / quota
    return use


def model(args: argparse.Namespace) -> dict[str, object]:
    policy = TicketPolicy(batch_size=args.batch, low_water=args.low_water)
    rows = []
    for factor in (1, 10, 100):
        purchases, payments = args.purchases_per_hour * factor, args.payments_per_hour * factor
        demand = ledger_demand(purchases, payments, args.first_purchase_share)
        served = simulate(demand, policy, args.rounds, args.expected_ledger_size)
        wanted = {a: d * LEDGERS_PER_HOUR for a, d in demand.items()}
        rows.append({
            "load": f"{factor}x", "purchases_per_hour": purchases, "payments_per_hour": payments,
            "ledger_tx_per_ledger": round(sum(demand.values()), 1),
            "company_served_share": round(served["company"] / wanted["company"], 3),
            "issuer_served_share": round(served["issuer"] / wanted["issuer"], 3),
            "aws_quota_use": {k: round(v, 4) for k, v in aws_use(purchases, payments).items()},
        })  # fmt: skip

    def one_account_alone(pool: TicketPolicy) -> float:  # all the room, more demand than it serves
        return simulate({"company": 10_000.0}, pool, args.rounds, 10**9)["company"]

    widest = TicketPolicy(batch_size=250 - args.low_water, low_water=args.low_water)
    return {
        "ledger_seconds": LEDGER_SECONDS,
        "escalated_fee_drops": ESCALATION_MULTIPLIER * BASE_FEE_DROPS,
        "max_fee_drops": MAX_FEE_DROPS,
        "limits_tx_per_hour": {
            "open ledger, all our accounts (expected size x ledgers)":
                args.expected_ledger_size * LEDGERS_PER_HOUR,
            f"one account's Tickets, refilled {args.batch} at a time": one_account_alone(policy),
            "one account's Tickets, refilled to rippled's 250": one_account_alone(widest),
        },
        "rows": rows,
    }  # fmt: skip


def report(figures: dict[str, object]) -> str:
    lines = [
        f"ledger every {figures['ledger_seconds']} s; past the open ledger's expected size the"
        f" fee is >= {figures['escalated_fee_drops']} drops, the platform pays at most"
        f" {figures['max_fee_drops']}: it waits",
        "",
        "limits (ledger transactions an hour):",
    ]
    limits = figures["limits_tx_per_hour"]
    assert isinstance(limits, dict)
    lines += [f"  {name:<58} {value:>10,.0f}" for name, value in limits.items()]
    lines += ["", f"{'load':>5} {'purchases/h':>12} {'payments/h':>11} {'tx/ledger':>10} "
              f"{'company served':>15} {'issuer served':>14}  busiest AWS quota"]  # fmt: skip
    rows = figures["rows"]
    assert isinstance(rows, list)
    for row in rows:
        busiest = max(row["aws_quota_use"].items(), key=lambda item: item[1])
        lines.append(
            f"{row['load']:>5} {row['purchases_per_hour']:>12,.0f}"
            f" {row['payments_per_hour']:>11,.0f} {row['ledger_tx_per_ledger']:>10}"
            f" {row['company_served_share']:>15.0%}"
            f" {row['issuer_served_share']:>14.0%}  {busiest[0]} {busiest[1]:.1%}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases-per-hour", type=float, default=1000)
    parser.add_argument("--payments-per-hour", type=float, default=10000)
    parser.add_argument("--first-purchase-share", type=float, default=0.5)
    parser.add_argument(
        "--expected-ledger-size", type=int, default=32, help="ours of the open ledger (`fee`)"
    )
    parser.add_argument("--batch", type=int, default=TicketPolicy().batch_size)
    parser.add_argument("--low-water", type=int, default=TicketPolicy().low_water)
    parser.add_argument("--rounds", type=int, default=2, help="ledgers a refill takes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = model(args)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
