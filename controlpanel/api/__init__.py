"""The REST API (`/api/v1/`): how build servers and scripts drive Hangar.

It sits above every app and calls their services and actions; it holds no business
logic of its own beyond HTTP concerns (authentication, scopes, ETags, idempotency keys).
"""
