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
