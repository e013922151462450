"""Changing where mail goes, and sending a test message.

A client's relay is used by every environment of the client that delivers; an
environment's override changes its mode or names a relay of its own. Both are
configuration: a change is saved, audited, and applied to the environments it affects
(SMTP_* in their Secret), through the same path as variables.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from clusters.models import Operation
from controlpanel.core.audit import audit_record, save_changes_audited, save_new_audited
from controlpanel.core.models import Client, User
from controlpanel.core.permissions import Action, require
from sites.mail.models import MailSettings
from sites.mail.selectors import effective_mail
from sites.models import Environment
from sites.services.config import Verb, configuration_change, configurations_changed
from sites.services.operations import environment_operation, require_provisioned

RELAY_FIELDS = frozenset(
    {"host", "port", "tls", "tls_verify", "username", "password", "from_address"}
)
OVERRIDE_FIELDS = RELAY_FIELDS | {"mode"}


def _relay(client: Client) -> MailSettings | None:
    return MailSettings.objects.filter(client=client, environment__isnull=True).first()


@transaction.atomic
def mail_relay_set(*, actor: User, client: Client, **fields: Any) -> MailSettings:
    """Create or change the client's SMTP relay; every environment of the client gets the
    new SMTP_* variables (a configuration apply each)."""
    require(actor, Action.MANAGE_INTEGRATIONS, client)
    unknown = set(fields) - RELAY_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
    relay = _relay(client)
    if relay is None:
        relay = save_new_audited(
            MailSettings(client=client, **fields),
            actor=actor,
            action="mail.relay.create",
            client=client,
        )
    elif not save_changes_audited(
        relay, fields, allowed=RELAY_FIELDS, actor=actor, action="mail.relay.change", client=client
    ):
        return relay
    configurations_changed(
        actor=actor, environments=Environment.objects.filter(site__client=client)
    )
    return relay


@transaction.atomic
def mail_relay_delete(*, actor: User, client: Client) -> None:
    require(actor, Action.MANAGE_INTEGRATIONS, client)
    relay = _relay(client)
    if relay is None:
        return
    audit_record(actor=actor, action="mail.relay.delete", target=relay, client=client)
    relay.delete()
    configurations_changed(
        actor=actor, environments=Environment.objects.filter(site__client=client)
    )


@transaction.atomic
def mail_override_set(*, actor: User, environment: Environment, **fields: Any) -> MailSettings:
    """Set this environment's mode (deliver, capture or the tier's default) or its own relay."""
    require(actor, Action.MANAGE_ENV_VARS, environment.site.client)
    override = MailSettings.objects.filter(environment=environment).first()
    if override is None:
        unknown = set(fields) - OVERRIDE_FIELDS
        if unknown:
            raise ValidationError({name: "This field cannot be set." for name in sorted(unknown)})
        fields.setdefault("host", "")
        override = MailSettings(client=environment.site.client, environment=environment, **fields)
        verb, action = Verb.CREATE, "mail.override.create"
    else:
        verb, action = Verb.UPDATE, "mail.override.change"
    configuration_change(
        actor=actor,
        environment=environment,
        permission=Action.MANAGE_ENV_VARS,
        action=action,
        instance=override,
        verb=verb,
        fields=fields,
        editable=OVERRIDE_FIELDS,
    )
    return override


def mail_override_delete(*, actor: User, environment: Environment) -> None:
    override = MailSettings.objects.filter(environment=environment).first()
    if override is None:
        require(actor, Action.MANAGE_ENV_VARS, environment.site.client)
        return
    configuration_change(
        actor=actor,
        environment=environment,
        permission=Action.MANAGE_ENV_VARS,
        action="mail.override.delete",
        instance=override,
        verb=Verb.DELETE,
    )


@transaction.atomic
def environment_send_test_mail(
    *, actor: User, environment: Environment, recipient: str, idempotency_key: str = ""
) -> Operation:
    """Send one message with the environment's applied mail settings, from inside its
    namespace, and report the mail server's answer."""
    require(actor, Action.RUN_COMMAND, environment.site.client)
    recipient = (recipient or "").strip()
    try:
        validate_email(recipient)
    except ValidationError:
        raise ValidationError({"recipient": "Give one e-mail address to send to."}) from None
    require_provisioned(environment)
    mail = effective_mail(environment)
    if not mail.configured:
        raise ValidationError({"environment": mail.source})
    operation, _ = environment_operation(
        kind="environment.test_mail",
        environment=environment,
        actor=actor,
        params={"recipient": recipient, "job_name": f"test-mail-{uuid.uuid4().hex[:8]}"},
        fingerprint_params={"recipient": recipient},
        idempotency_key=idempotency_key,
    )
    return operation
