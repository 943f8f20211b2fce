"""The ledger adapter: reading the XRP Ledger and submitting signed transactions reliably."""
