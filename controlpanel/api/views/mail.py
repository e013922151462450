"""Mail settings: a client's SMTP relay, an environment's override and the mail it really
gets, and "send test mail". Passwords are write-only: never in a response."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from controlpanel.api.serializers import StrictSerializer
from controlpanel.api.views.base import accepted, idempotency_key
from controlpanel.core.models import Client
from controlpanel.core.permissions import Action, require
from sites.mail import services
from sites.mail.models import MailMode, MailSettings, MailTls
from sites.mail.selectors import effective_mail
from sites.models import Environment


class MailSettingsOutput(serializers.ModelSerializer):
    has_password = serializers.SerializerMethodField()

    class Meta:
        model = MailSettings
        fields = [
            "mode",
            "host",
            "port",
            "tls",
            "tls_verify",
            "username",
            "has_password",
            "from_address",
            "updated_at",
        ]
        read_only_fields = fields

    def get_has_password(self, obj: MailSettings) -> bool:
        return bool(obj.password)


class RelayInput(StrictSerializer):
    host = serializers.CharField(max_length=253, required=False)
    port = serializers.IntegerField(required=False)
    tls = serializers.ChoiceField(choices=MailTls.choices, required=False)
    tls_verify = serializers.BooleanField(required=False)
    username = serializers.CharField(max_length=255, required=False, allow_blank=True)
    password = serializers.CharField(
        max_length=1024, required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    from_address = serializers.CharField(max_length=254, required=False, allow_blank=True)


class OverrideInput(RelayInput):
    mode = serializers.ChoiceField(choices=MailMode.choices, required=False)
    host = serializers.CharField(max_length=253, required=False, allow_blank=True)


class EffectiveOutput(serializers.Serializer):
    mode = serializers.CharField()
    host = serializers.CharField()
    port = serializers.IntegerField()
    tls = serializers.CharField()
    username = serializers.CharField()
    from_address = serializers.CharField()
    source = serializers.CharField()
    override = MailSettingsOutput(allow_null=True)


class TestMailInput(StrictSerializer):
    recipient = serializers.CharField(max_length=254)


def _parse(serializer_class: Any, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ClientMailRelayView(APIView):
    """GET, PUT (create or change; fields left out stay) and DELETE a client's relay."""

    def _client(self, request: Request, pk: str) -> Client:
        client = get_object_or_404(Client.objects.for_user(request.user), pk=pk)
        require(request.user, Action.VIEW, client)
        return client

    @extend_schema(responses={200: MailSettingsOutput})
    def get(self, request: Request, pk: str) -> Response:
        client = self._client(request, pk)
        require(request.user, Action.MANAGE_INTEGRATIONS, client)
        relay = get_object_or_404(MailSettings, client=client, environment__isnull=True)
        return Response(MailSettingsOutput(relay).data)

    @extend_schema(request=RelayInput, responses={200: MailSettingsOutput})
    def put(self, request: Request, pk: str) -> Response:
        client = self._client(request, pk)
        relay = services.mail_relay_set(
            actor=request.user, client=client, **_parse(RelayInput, request)
        )
        return Response(MailSettingsOutput(relay).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        services.mail_relay_delete(actor=request.user, client=self._client(request, pk))
        return Response(status=204)


class EnvironmentMailView(APIView):
    """GET where the environment's mail goes (and its override); PUT and DELETE the
    override."""

    def _environment(self, request: Request, pk: str) -> Environment:
        return get_object_or_404(
            Environment.objects.for_user(request.user).select_related("site__client", "cluster"),
            pk=pk,
        )

    def _body(self, environment: Environment) -> dict[str, Any]:
        mail = effective_mail(environment)
        override = MailSettings.objects.filter(environment=environment).first()
        return EffectiveOutput(
            {
                "mode": mail.mode,
                "host": mail.host,
                "port": mail.port,
                "tls": mail.tls,
                "username": mail.username,
                "from_address": mail.from_address,
                "source": mail.source,
                "override": override,
            }
        ).data

    @extend_schema(responses={200: EffectiveOutput})
    def get(self, request: Request, pk: str) -> Response:
        return Response(self._body(self._environment(request, pk)))

    @extend_schema(request=OverrideInput, responses={200: EffectiveOutput})
    def put(self, request: Request, pk: str) -> Response:
        environment = self._environment(request, pk)
        services.mail_override_set(
            actor=request.user, environment=environment, **_parse(OverrideInput, request)
        )
        return Response(self._body(environment))

    @extend_schema(responses={200: EffectiveOutput})
    def delete(self, request: Request, pk: str) -> Response:
        environment = self._environment(request, pk)
        services.mail_override_delete(actor=request.user, environment=environment)
        return Response(self._body(environment))


class EnvironmentTestMailView(EnvironmentMailView):
    """POST: send one test message from the environment's namespace (202, an operation)."""

    @extend_schema(request=TestMailInput, responses={202: None})
    def post(self, request: Request, pk: str) -> Response:
        data = _parse(TestMailInput, request)
        operation = services.environment_send_test_mail(
            actor=request.user,
            environment=self._environment(request, pk),
            recipient=data["recipient"],
            idempotency_key=idempotency_key(request),
        )
        return accepted(request, operation)

    http_method_names = ["post", "options"]
