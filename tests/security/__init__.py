"""Security tests (issue 9): isolation proofs, hardening, Hangar's own deployment."""
