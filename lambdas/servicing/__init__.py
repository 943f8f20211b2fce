"""Servicing the instruments: their holders of record and the cash flows paid to them."""
