"""The roles people hold: a role in a client (tenant) or a staff role in the agency."""

from django.db import models


class ClientRole(models.TextChoices):
    OWNER = "owner", "Owner"
    DEVELOPER = "developer", "Developer"
    VIEWER = "viewer", "Viewer"


class StaffRole(models.TextChoices):
    ADMIN = "admin", "Administrator"
    OPERATOR = "operator", "Operator"
    BILLING = "billing", "Billing"


# What each staff role may do in the Django admin (docs/security.md has the matrix).
# Two-factor devices are in nobody's admin: a TOTP key is shown once, at enrolment, and
# administrators reset a person's two-factor from the user's page instead.
ADMIN_HIDDEN_APPS = frozenset({"otp_totp", "otp_static", "otp_email", "otp_hotp"})
# Who may sign in and with which role: administrators only, as in the staff console.
PEOPLE_PERMISSIONS = frozenset(
    f"core.{verb}_{model}"
    for verb in ("add", "change", "delete")
    for model in ("user", "membership")
)


def staff_admin_may(user: object, perm: str) -> bool:
    """Whether `user` (active) holds the Django admin permission `perm` ("app.codename")."""
    app = perm.partition(".")[0]
    if app in ADMIN_HIDDEN_APPS:
        return False
    role = getattr(user, "staff_role", "")
    if getattr(user, "is_superuser", False) or role == StaffRole.ADMIN:
        return True
    reading = ".view_" in perm
    if perm in PEOPLE_PERMISSIONS:
        return False
    if role == StaffRole.OPERATOR:
        return app != "billing" or reading
    if role == StaffRole.BILLING:
        return app == "billing" or reading
    return False
