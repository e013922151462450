"""Outbound mail of the sites: each client's SMTP relay, per-environment overrides, what
the containers get as SMTP_* variables, and the "send test mail" operation."""
