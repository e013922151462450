"""The client portal. Every object is looked up through `.for_user`, so another client's
ids answer 404."""

from django.urls import path

from controlpanel.web.portal.views import (
    activity,
    backups,
    costs,
    cron,
    dashboard,
    domains,
    local,
    logs,
    mail,
    members,
    operations,
    previews,
    releases,
    scaling,
    settings,
    tasks,
    tokens,
    usage,
    variables,
    webhooks,
)

app_name = "portal"

environment = "environments/<int:pk>/"

urlpatterns = [
    path("", dashboard.home, name="dashboard"),
    # An environment: releases (deploy, promote, rollback, restart) ...
    path(environment, releases.overview, name="environment"),
    path(f"{environment}deploy/", releases.deploy, name="deploy"),
    path(f"{environment}promote/", releases.promote, name="promote"),
    path(f"{environment}rollback/<int:release_pk>/", releases.rollback, name="rollback"),
    path(f"{environment}restart/", releases.restart, name="restart"),
    path(f"{environment}provision/", releases.provision, name="provision"),
    path(f"{environment}repair/", releases.repair, name="repair"),
    # ... scaling (preview, then confirm) ...
    path(f"{environment}scaling/", scaling.scaling, name="scaling"),
    path(f"{environment}scaling/scale/", scaling.scale, name="scale"),
    path(f"{environment}scaling/autoscale/", scaling.autoscale, name="autoscale"),
    # ... domains, variables, cron ...
    path(f"{environment}domains/", domains.domains, name="domains"),
    path(f"{environment}domains/add/", domains.domain_add, name="domain_add"),
    path(
        f"{environment}domains/<int:domain_pk>/remove/",
        domains.domain_remove,
        name="domain_remove",
    ),
    path(f"{environment}variables/", variables.variables, name="variables"),
    path(f"{environment}variables/set/", variables.variable_set, name="variable_set"),
    path(
        f"{environment}variables/<int:variable_pk>/edit/",
        variables.variable_edit,
        name="variable_edit",
    ),
    path(
        f"{environment}variables/<int:variable_pk>/delete/",
        variables.variable_delete,
        name="variable_delete",
    ),
    path(f"{environment}cron/", cron.cron, name="cron"),
    path(f"{environment}cron/add/", cron.cron_add, name="cron_add"),
    path(f"{environment}cron/<int:cron_pk>/edit/", cron.cron_edit, name="cron_edit"),
    path(f"{environment}cron/<int:cron_pk>/delete/", cron.cron_delete, name="cron_delete"),
    path(f"{environment}cron/<int:cron_pk>/run/", cron.cron_run, name="cron_run"),
    path(f"{environment}cron/<int:cron_pk>/runs/", cron.cron_runs, name="cron_runs"),
    # ... mail (where it goes, the client's relay, a test message) ...
    path(f"{environment}mail/", mail.mail, name="mail"),
    path(f"{environment}mail/relay/", mail.relay_set, name="mail_relay"),
    path(f"{environment}mail/override/", mail.override_set, name="mail_override"),
    path(f"{environment}mail/override/reset/", mail.override_reset, name="mail_override_reset"),
    path(f"{environment}mail/test/", mail.test_send, name="mail_test"),
    # ... running it locally ...
    path(f"{environment}local/", local.local, name="local"),
    path(f"{environment}local/project.zip", local.local_zip, name="local_zip"),
    path(f"{environment}local/files.sh", local.local_files, name="local_files"),
    path(f"{environment}local/rules/", local.local_rules, name="local_rules"),
    path(
        f"{environment}local/backups/<int:backup_pk>/sanitize/",
        local.local_sanitize,
        name="local_sanitize",
    ),
    path(
        f"{environment}local/backups/<int:backup_pk>/sanitized/",
        local.local_sanitized,
        name="local_sanitized",
    ),
    # ... logs, one-off tasks, settings (deploy tokens, destroy).
    path(f"{environment}logs/", logs.logs, name="logs"),
    path(f"{environment}logs/tail/", logs.logs_tail, name="logs_tail"),
    path(f"{environment}usage/", usage.usage, name="usage"),
    path(f"{environment}tasks/", tasks.tasks, name="tasks"),
    path(f"{environment}tasks/run/", tasks.task_run, name="task_run"),
    path(f"{environment}settings/", settings.environment_settings, name="environment_settings"),
    path(f"{environment}deploy-tokens/", settings.deploy_token_add, name="deploy_token_add"),
    path(
        f"{environment}deploy-tokens/<int:token_pk>/revoke/",
        settings.deploy_token_revoke,
        name="deploy_token_revoke",
    ),
    path(f"{environment}destroy/", settings.destroy, name="destroy"),
    # ... backups (when the backup services exist) ...
    path(f"{environment}backups/", backups.backups, name="backups"),
    path(f"{environment}backups/now/", backups.backup_now, name="backup_now"),
    path(f"{environment}backups/schedule/", backups.backup_schedule, name="backup_schedule"),
    path(
        f"{environment}backups/<int:backup_pk>/restore/",
        backups.backup_restore,
        name="backup_restore",
    ),
    path(
        f"{environment}backups/<int:backup_pk>/download/",
        backups.backup_download,
        name="backup_download",
    ),
    path(f"{environment}backups/<int:backup_pk>/check/", backups.backup_check, name="backup_check"),
    # A site's previews (CI environments per branch), their settings and CI tokens.
    path("sites/<int:pk>/previews/", previews.previews, name="previews"),
    path("sites/<int:pk>/previews/settings/", previews.settings_set, name="preview_settings"),
    path("sites/<int:pk>/previews/tokens/", previews.token_add, name="preview_token_add"),
    path(
        "sites/<int:pk>/previews/tokens/<int:token_pk>/revoke/",
        previews.token_revoke_view,
        name="preview_token_revoke",
    ),
    # Operations.
    path("operations/", operations.operations, name="operations"),
    path("operations/<int:pk>/", operations.operation, name="operation"),
    path("operations/<int:pk>/live/", operations.operation_live, name="operation_live"),
    path("operations/<int:pk>/cancel/", operations.operation_cancel_view, name="operation_cancel"),
    # A client's people and webhooks.
    path("clients/<int:pk>/members/", members.members, name="members"),
    path("clients/<int:pk>/activity/", activity.activity, name="activity"),
    path("clients/<int:pk>/members/invite/", members.member_invite, name="member_invite"),
    path(
        "clients/<int:pk>/members/<int:membership_pk>/role/",
        members.member_role,
        name="member_role",
    ),
    path(
        "clients/<int:pk>/members/<int:membership_pk>/remove/",
        members.member_remove,
        name="member_remove",
    ),
    path("clients/<int:pk>/webhooks/", webhooks.webhooks, name="webhooks"),
    path("clients/<int:pk>/webhooks/add/", webhooks.webhook_add, name="webhook_add"),
    path(
        "clients/<int:pk>/webhooks/<int:webhook_pk>/delete/",
        webhooks.webhook_remove,
        name="webhook_delete",
    ),
    path(
        "clients/<int:pk>/webhooks/<int:webhook_pk>/ping/",
        webhooks.webhook_test,
        name="webhook_ping",
    ),
    # A client's costs and invoices (owners and agency staff).
    path("clients/<int:pk>/costs/", costs.costs, name="costs"),
    path("clients/<int:pk>/invoices/<int:invoice_pk>/", costs.invoice, name="invoice"),
    path(
        "clients/<int:pk>/invoices/<int:invoice_pk>/pdf/",
        costs.invoice_pdf_download,
        name="invoice_pdf",
    ),
    path(
        "clients/<int:pk>/invoices/<int:invoice_pk>/csv/",
        costs.invoice_csv_download,
        name="invoice_csv",
    ),
    # The person's own API tokens.
    path("account/tokens/", tokens.tokens, name="tokens"),
    path("account/tokens/add/", tokens.token_add, name="token_add"),
    path("account/tokens/<int:pk>/revoke/", tokens.token_revoke_view, name="token_revoke"),
]
