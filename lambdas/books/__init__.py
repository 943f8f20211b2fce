"""The books an auditor reads: the daily three-way reconciliation (sides.py, steps.py), the
holder register (register.py), read from the ledger and named by the records."""
