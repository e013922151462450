"""A client's people: every member sees the list; owners invite (creating the account and
sending a link to set a password), change roles and remove."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from controlpanel.core import services
from controlpanel.core.models import Client, Membership
from controlpanel.core.permissions import Action, can
from controlpanel.web.accounts.emails import send_invitation
from controlpanel.web.confirm import ConfirmForm, confirm_form, confirm_page
from controlpanel.web.portal.forms import InviteForm, RoleForm
from controlpanel.web.shortcuts import attempt, scoped_or_404


def _page(request: HttpRequest, client: Client, form=None, status: int = 200) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(client=client).select_related("user").order_by("user__email")
    )
    manage = can(request.user, Action.MANAGE_MEMBERS, client)
    for membership in memberships:
        membership.role_form = (
            RoleForm(initial={"role": membership.role}, prefix=f"m{membership.pk}")
            if manage
            else None
        )
    context = {
        "client": client,
        "memberships": memberships,
        "manage": manage,
        "form": form or InviteForm(),
        "may_webhooks": can(request.user, Action.MANAGE_INTEGRATIONS, client),
        "may_activity": can(request.user, Action.VIEW_AUDIT, client),
        "nav_client_id": client.pk,
    }
    return render(request, "portal/members.html", context, status=status)


@login_required
def members(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, scoped_or_404(request, Client.objects.all(), pk=pk))


@require_POST
@login_required
def member_invite(request: HttpRequest, pk: int) -> HttpResponse:
    client = scoped_or_404(request, Client.objects.all(), pk=pk)
    form = InviteForm(request.POST)
    if form.is_valid():
        result = attempt(
            form,
            services.user_invite,
            aliases={"user": "email"},
            actor=request.user,
            client=client,
            **form.cleaned_data,
        )
        if result is not None:
            user, membership, _created = result
            send_invitation(
                request, user=user, invited_by=request.user, client=client, role=membership.role
            )
            # One answer whether or not the address had an account: the page must not
            # tell a client's owner who else uses Hangar.
            messages.success(
                request,
                f"Invited {user.email} as {membership.get_role_display().lower()}; "
                "they got an email about it.",
            )
            return redirect("portal:members", client.pk)
    return _page(request, client, form, status=400)


@require_POST
@login_required
def member_role(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    client = scoped_or_404(request, Client.objects.all(), pk=pk)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "client"), pk=membership_pk, client=client
    )
    form = RoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        saved = attempt(
            form,
            services.membership_set_role,
            actor=request.user,
            membership=membership,
            role=form.cleaned_data["role"],
        )
        if saved is not None:
            messages.success(
                request, f"{membership.user.email} is now {saved.get_role_display().lower()}."
            )
            return redirect("portal:members", client.pk)
    for error in [*form.non_field_errors(), *form.errors.get("role", [])]:
        messages.error(request, error)
    return redirect("portal:members", client.pk)


@login_required
def member_remove(request: HttpRequest, pk: int, membership_pk: int) -> HttpResponse:
    """Removing a member cuts their access at once: asked on a page of its own, done only
    by a POST that carries the confirmation."""
    client = scoped_or_404(request, Client.objects.all(), pk=pk)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "client"), pk=membership_pk, client=client
    )
    if not can(request.user, Action.MANAGE_MEMBERS, client):
        raise PermissionDenied
    form = confirm_form(request, ConfirmForm)
    if request.method == "POST" and form.is_valid():
        removed = attempt(
            form, services.membership_remove, actor=request.user, membership=membership
        )
        for error in form.non_field_errors():
            messages.error(request, str(error))
        if not form.errors and removed is None:
            messages.success(request, f"Removed {membership.user.email} from {client.name}.")
        return redirect("portal:members", client.pk)
    person = membership.user
    return confirm_page(
        request,
        form,
        title=f"Remove {person.email} from {client.name}",
        consequence=f"They lose access to {client.name}'s sites, environments and tokens at "
        "once, in the portal and the API.",
        facts=[
            ("Person", f"{person.get_full_name()} ({person.email})"),
            ("Role", membership.get_role_display()),
        ],
        action=reverse("portal:member_remove", args=[client.pk, membership.pk]),
        submit=f"Remove {person.email}",
        cancel=reverse("portal:members", args=[client.pk]),
        nav_client_id=client.pk,
    )
