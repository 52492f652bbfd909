"""Compliance reporting: the dashboard's figures, the evidence export, the filing duty and
headcount, and the attempt tallies behind the fallback-parity figures."""
