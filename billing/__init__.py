"""Billing: flat monthly node prices turned into per-client costs. Writes only its own models
(and the audit trail); reads the other apps."""
