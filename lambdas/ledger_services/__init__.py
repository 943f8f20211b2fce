"""The platform's ledger services: the ledger steps of purchases, onboarding and compliance, each
run by one runner (runner.py) over the XRPL adapter (lambdas/ledger_adapter)."""
