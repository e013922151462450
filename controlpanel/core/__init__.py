"""Core of the control panel: users, clients (tenants), memberships, permissions, audit."""
