"""The "send test mail" operation: a short Job in the environment's namespace connects to
the environment's SMTP server with its own settings and reports what the server said."""

from __future__ import annotations

from clusters.engine import OperationContext, OperationFailed, register
from clusters.models import Operation
from sites.handlers.converge import load_environment
from sites.handlers.jobs import job_outcome
from sites.manifests.mail import TEST_MAIL_TIMEOUT, render_test_mail_job

# curl's exit codes, as the person reading the result would say them.
CAUSES = {
    6: "The mail server's host name does not resolve.",
    7: "The mail server cannot be reached (connection refused or no route).",
    28: "The mail server did not answer in time.",
    35: "The TLS handshake with the mail server failed.",
    60: "The mail server's certificate is not trusted.",
    64: "The mail server does not offer TLS, which these settings require.",
    67: "The mail server refused the login: check the SMTP user and password.",
    55: "The mail server closed the connection while the message was sent.",
    56: "The mail server closed the connection.",
}


def _summary(output: str) -> tuple[list[str], str]:
    lines = output.splitlines()
    answers = [line.removeprefix("server: ") for line in lines if line.startswith("server: ")]
    verdict = next(
        (line for line in reversed(lines) if line.startswith(("SENT:", "FAILED:"))),
        "",
    )
    return answers, verdict


@register("environment.test_mail", label="Send test mail")
def test_mail(ctx: OperationContext) -> dict:
    environment = load_environment(ctx.operation.target_id)
    ctx.plan(2)
    recipient = ctx.params["recipient"]
    job = render_test_mail_job(environment, name=ctx.params["job_name"], recipient=recipient)
    name = job["metadata"]["name"]
    if ctx.kube.get_or_none("batch/v1", "Job", name, environment.namespace) is None:
        ctx.kube.create(job)
    ctx.step(f"Connecting to the mail server from {environment.namespace} (job {name}).")
    status, output = job_outcome(ctx, environment, name, timeout=TEST_MAIL_TIMEOUT + 30)
    answers, verdict = _summary(output)
    result = {"recipient": recipient, "sent": status.ok, "answers": answers[-20:]}
    ctx.step(verdict or status.message)
    if status.ok:
        return result
    ctx.operation.result = result
    Operation.objects.filter(pk=ctx.operation.pk).update(result=result)
    code = _exit_code(output)
    cause = CAUSES.get(code, verdict.removeprefix("FAILED: ") or status.message)
    last = f" The server said: {answers[-1]}" if answers else ""
    raise OperationFailed(f"{cause}{last}")


def _exit_code(output: str) -> int | None:
    for line in reversed(output.splitlines()):
        if line.startswith("FAILED:") and "(curl exit " in line:
            digits = line.rsplit("(curl exit ", 1)[1].rstrip(")").strip()
            return int(digits) if digits.isdigit() else None
    return None
