"""People: agency staff and client users, and inviting either."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from controlpanel.core import services
from controlpanel.core.models import Membership, User
from controlpanel.web.accounts.emails import send_invitation
from controlpanel.web.shortcuts import attempt
from controlpanel.web.staff.access import staff_required
from controlpanel.web.staff.forms import InviteUserForm

PAGE_SIZE = 50


def _page(request: HttpRequest, form=None) -> HttpResponse:
    query = (request.GET.get("q") or "").strip()
    users = User.objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("client"))
    ).order_by("-staff_role", "email")
    if query:
        users = users.filter(email__icontains=query)
    context = {
        "page": Paginator(users, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query,
        "page_query": urlencode({"q": query}) if query else "",
        "form": form or InviteUserForm(),
        "nav_section": "staff",
        "staff_tab": "users",
    }
    return render(request, "staff/users.html", context, status=400 if form else 200)


@staff_required
def users(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@staff_required
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteUserForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        result = attempt(
            form,
            services.user_invite,
            aliases={"user": "email"},
            actor=request.user,
            email=data["email"],
            full_name=data["full_name"],
            client=data["client"],
            role=data["role"],
            staff_role=data["staff_role"],
        )
        if result is not None:
            user, membership, created = result
            send_invitation(
                request,
                user=user,
                invited_by=request.user,
                client=data["client"],
                role=membership.get_role_display() if membership else user.get_staff_role_display(),
            )
            messages.success(
                request,
                f"Invited {user.email}. "
                + (
                    "They got an email with a link to set their password."
                    if created
                    else "They already had an account and got an email saying so."
                ),
            )
            return redirect("staff:users")
    return _page(request, form)
