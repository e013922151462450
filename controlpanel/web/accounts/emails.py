"""The invitation email: a link to set a password, like a password reset's."""

from __future__ import annotations

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from controlpanel.core.models import Client, User


def password_set_url(request: HttpRequest, user: User) -> str:
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return request.build_absolute_uri(path)


def send_invitation(
    request: HttpRequest, *, user: User, invited_by: User, client: Client | None, role: str
) -> None:
    context = {
        "user": user,
        "invited_by": invited_by,
        "client": client,
        "role": role,
        "url": password_set_url(request, user),
        "sign_in_url": request.build_absolute_uri(reverse("login")),
        "has_password": user.has_usable_password(),
    }
    subject = (
        f"You have been invited to {client.name} on Hangar"
        if client is not None
        else "You have been invited to Hangar"
    )
    body = render_to_string("emails/invitation.txt", context)
    send_mail(subject, body, None, [user.email])
