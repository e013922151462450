"""Billing: flat monthly node prices turned into per-client costs. Only reads other apps."""
