"""The signed-in person's API tokens."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from controlpanel.api import serializers as s
from controlpanel.api.permissions import token_of
from controlpanel.api.views.environments import parse
from controlpanel.integrations.models import ApiToken, Scope
from controlpanel.integrations.tokens import reauthenticate, token_create, token_revoke


class TokenViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = ApiToken.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.TokenSerializer

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at")

    @extend_schema(request=s.TokenCreateSerializer, responses={201: s.TokenCreatedSerializer})
    @sensitive_variables("data")
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = parse(s.TokenCreateSerializer, request)
        if Scope.ADMIN in data["scopes"] and request.user.is_agency_staff:
            # A stolen token must not mint a stronger or longer-lived one, and a stolen
            # session must not either without the password.
            if token_of(request) is not None:
                raise PermissionDenied(
                    "A token cannot create admin tokens; sign in and confirm your password."
                )
            reauthenticate(actor=request.user, password=data.get("password"))
        row, token = token_create(
            actor=request.user,
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data.get("expires_at"),
            parent=token_of(request),
        )
        return Response(s.TokenSerializer(row).data | {"token": token}, status=201)

    @extend_schema(request=s.EmptySerializer, responses={200: s.TokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        token = token_revoke(actor=request.user, token=self.get_object())
        return Response(s.TokenSerializer(token).data)
