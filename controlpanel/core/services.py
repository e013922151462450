"""Writes on clients and memberships. Each service checks permission, validates (field-keyed
errors, nothing saved on error), saves and records an audit event in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from controlpanel.core.audit import audit_record, save_changes_audited, save_new_audited
from controlpanel.core.models import Client, Membership, User
from controlpanel.core.permissions import Action, require
from controlpanel.core.roles import ClientRole, StaffRole

CLIENT_EDITABLE_FIELDS = frozenset({"name", "billing_email", "status", "markup_percent"})


@transaction.atomic
def client_create(
    *,
    actor: User,
    name: str,
    slug: str,
    billing_email: str,
    markup_percent: Decimal | int | str = 0,
) -> Client:
    require(actor, Action.MANAGE_CLIENTS)
    client = Client(
        name=name, slug=slug, billing_email=billing_email, markup_percent=Decimal(markup_percent)
    )
    save_new_audited(client, actor=actor, action="client.create", client=client)
    return client


@transaction.atomic
def client_update(*, actor: User, client: Client, **fields: Any) -> Client:
    """Change a client's name, billing email, status (suspend/activate) or markup.
    The slug is fixed: it is part of every namespace name."""
    require(actor, Action.MANAGE_CLIENTS, client)
    action = "client.update"
    if fields.get("status", client.status) != client.status:
        action = (
            "client.suspend" if fields["status"] == Client.Status.SUSPENDED else "client.activate"
        )
    save_changes_audited(
        client, fields, allowed=CLIENT_EDITABLE_FIELDS, actor=actor, action=action, client=client
    )
    return client


@transaction.atomic
def membership_add(*, actor: User, client: Client, user: User, role: str) -> Membership:
    require(actor, Action.MANAGE_MEMBERS, client)
    if user.staff_role:
        raise ValidationError(
            {"user": "Agency staff already see every client; they cannot be members."}
        )
    membership = Membership(client=client, user=user, role=role)
    membership.full_clean()
    membership.save()
    audit_record(
        actor=actor,
        action="membership.add",
        target=membership,
        client=client,
        changes={"user": [None, user.email], "role": [None, role]},
    )
    return membership


def _ensure_other_owner(membership: Membership) -> None:
    # A client without an owner cannot manage its own members any more. Locking the
    # client row serialises two owners demoting each other at the same moment.
    Client.objects.select_for_update().filter(pk=membership.client_id).first()
    others = Membership.objects.filter(client_id=membership.client_id, role=ClientRole.OWNER)
    if not others.exclude(pk=membership.pk).exists():
        raise ValidationError({"role": "A client must keep at least one owner."})


@transaction.atomic
def membership_set_role(*, actor: User, membership: Membership, role: str) -> Membership:
    require(actor, Action.MANAGE_MEMBERS, membership.client)
    old_role = membership.role
    if old_role == ClientRole.OWNER and role != ClientRole.OWNER:
        _ensure_other_owner(membership)
    membership.role = role
    membership.full_clean()
    membership.save()
    audit_record(
        actor=actor,
        action="membership.update",
        target=membership,
        client=membership.client,
        changes={"role": [old_role, role]},
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    require(actor, Action.MANAGE_MEMBERS, membership.client)
    if membership.role == ClientRole.OWNER:
        _ensure_other_owner(membership)
    audit_record(
        actor=actor,
        action="membership.remove",
        target=membership,
        client=membership.client,
        changes={"user": [membership.user.email, None], "role": [membership.role, None]},
    )
    membership.delete()


@transaction.atomic
def user_invite(
    *,
    actor: User,
    email: str,
    full_name: str = "",
    client: Client | None = None,
    role: str = "",
    staff_role: str = "",
) -> tuple[User, Membership | None, bool]:
    """Give a person access: as a member of `client` with `role` (the client's owners and
    staff admins), or as agency staff with `staff_role` (staff admins). Creates the user,
    without a usable password, when the email address is new. Returns the user, the
    membership (None for staff) and whether the user was created; sending the invitation
    (a link to set a password) is up to the caller."""
    email = User.objects.normalize_email((email or "").strip()).lower()
    if client is None:
        require(actor, Action.MANAGE_CLIENTS)
        if staff_role not in StaffRole.values:
            raise ValidationError({"staff_role": "Choose a staff role."})
    else:
        require(actor, Action.MANAGE_MEMBERS, client)
    user = User.objects.filter(email=email).first()
    created = user is None
    if user is None:
        user = User(email=email, full_name=(full_name or "").strip(), staff_role=staff_role)
        user.set_unusable_password()
        try:
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise ValidationError({"email": exc.message_dict.get("email", exc.messages)}) from None
        user.save()
        audit_record(
            actor=actor,
            action="user.invite",
            target=user,
            client=client,
            changes={"email": [None, email], "staff_role": [None, staff_role or None]},
        )
    elif client is None:
        if user.staff_role:
            raise ValidationError({"email": "This person is agency staff already."})
        if user.memberships.exists():
            raise ValidationError(
                {"email": "This person is a client user; remove their memberships first."}
            )
        old = user.staff_role
        user.staff_role = staff_role
        user.save(update_fields=["staff_role"])
        audit_record(
            actor=actor,
            action="user.update",
            target=user,
            changes={"staff_role": [old, staff_role]},
        )
    membership = None
    if client is not None:
        if Membership.objects.filter(client=client, user=user).exists():
            raise ValidationError({"email": f"{email} is a member of {client.name} already."})
        membership = membership_add(actor=actor, client=client, user=user, role=role)
    return user, membership, created


@transaction.atomic
def reset_two_factor(*, actor: User, user: User) -> bool:
    """Remove `user`'s two-factor devices (staff administrators only): they enrol a new
    one at their next sign-in, staff before anything else. The key itself is never shown
    again after enrolment, to anyone. False when there was nothing to reset."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    require(actor, Action.MANAGE_CLIENTS)  # administrators only
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    if deleted:
        audit_record(actor=actor, action="user.two_factor_reset", target=user)
    return bool(deleted)
