"""Custody: investor wallets and platform keys. Keys are used only here, and only to sign."""
