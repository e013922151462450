from __future__ import annotations

from celery import shared_task

from controlpanel.integrations.models import WebhookDelivery
from controlpanel.integrations.webhooks import BACKOFF, deliver


@shared_task(name="api.deliver_webhook", bind=True, max_retries=len(BACKOFF))
def deliver_webhook_task(self, delivery_id: int) -> str:
    delivery = deliver(delivery_id)
    if delivery.status == WebhookDelivery.Status.PENDING:
        raise self.retry(countdown=BACKOFF[min(delivery.attempts, len(BACKOFF)) - 1])
    return delivery.status
