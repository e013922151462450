"""Where an environment's mail goes, worked out from the client's relay, the environment's
override, its tier and its cluster's mail catcher; and the SMTP_* variables that says."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from sites.mail.models import MailMode, MailSettings, MailTls
from sites.models import Environment, Tier


@dataclass(frozen=True)
class EffectiveMail:
    mode: str  # MailMode.DELIVER or MailMode.CAPTURE
    host: str
    port: int
    tls: str
    tls_verify: bool
    username: str
    password: str
    from_address: str
    # Where the settings come from, in words, for the mail page.
    source: str

    @property
    def configured(self) -> bool:
        return bool(self.host)


def _settings(environment: Environment) -> tuple[MailSettings | None, MailSettings | None]:
    """(the client's relay, the environment's override); one query."""
    rows = MailSettings.objects.filter(
        Q(client_id=environment.site.client_id, environment__isnull=True)
        | Q(environment_id=environment.pk)
    )
    relay = override = None
    for row in rows:
        if row.environment_id is None:
            relay = row
        else:
            override = row
    return relay, override


def effective_mail(environment: Environment) -> EffectiveMail:
    relay, override = _settings(environment)
    mode = override.mode if override is not None else MailMode.DEFAULT
    if mode == MailMode.DEFAULT:
        mode = MailMode.DELIVER if environment.tier == Tier.PRODUCTION else MailMode.CAPTURE
    if mode == MailMode.CAPTURE:
        cluster = environment.cluster
        if not cluster.mail_capture_host:
            return EffectiveMail(
                MailMode.CAPTURE, "", 0, MailTls.NONE, True, "", "", "",
                f"Captured, but {cluster.name} has no mail catcher: mail is not delivered "
                "and not kept.",
            )  # fmt: skip
        return EffectiveMail(
            MailMode.CAPTURE,
            cluster.mail_capture_host,
            cluster.mail_capture_port,
            MailTls.NONE,
            True,
            "",
            "",
            (relay.from_address if relay else ""),
            f"Captured by the mail catcher of {cluster.name}; never delivered.",
        )
    chosen = override if override is not None and override.host else relay
    if chosen is None:
        return EffectiveMail(
            MailMode.DELIVER, "", 0, MailTls.NONE, True, "", "", "",
            "Deliver, but no SMTP relay is set up for this client.",
        )  # fmt: skip
    return EffectiveMail(
        MailMode.DELIVER,
        chosen.host,
        chosen.port,
        chosen.tls,
        chosen.tls_verify,
        chosen.username,
        chosen.password,
        chosen.from_address or (relay.from_address if relay else ""),
        "Delivered through "
        + ("this environment's own relay" if chosen is override else "the client's relay")
        + f" {chosen.host}:{chosen.port}.",
    )


def mail_env(environment: Environment) -> dict[str, str]:
    """The SMTP_* variables of the environment's Secret; empty when mail goes nowhere."""
    mail = effective_mail(environment)
    if not mail.configured:
        return {}
    return {
        "SMTP_MODE": mail.mode,
        "SMTP_HOST": mail.host,
        "SMTP_PORT": str(mail.port),
        "SMTP_TLS": mail.tls,
        "SMTP_TLS_VERIFY": "1" if mail.tls_verify else "0",
        "SMTP_USER": mail.username,
        "SMTP_PASSWORD": mail.password,
        "SMTP_FROM": mail.from_address,
    }
