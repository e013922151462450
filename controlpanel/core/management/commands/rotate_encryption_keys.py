"""Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it),
deploy, run this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from controlpanel.core.fields import EncryptedTextField

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt all secrets at rest with the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            fields = [
                f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
            ]
            if not fields:
                continue
            count = 0
            queryset = model._default_manager.order_by("pk").only("pk", *fields)
            with transaction.atomic():
                batch = []
                # Reading decrypts with any listed key; bulk_update encrypts with the first.
                for obj in queryset.iterator(chunk_size=BATCH):
                    batch.append(obj)
                    if len(batch) >= BATCH:
                        model._default_manager.bulk_update(batch, fields)
                        count += len(batch)
                        batch = []
                if batch:
                    model._default_manager.bulk_update(batch, fields)
                    count += len(batch)
            if count:
                self.stdout.write(
                    f"{model._meta.label}: {count} rows re-encrypted ({', '.join(fields)})"
                )
            total += count
        self.stdout.write(
            self.style.SUCCESS(f"Done: {total} rows re-encrypted with the primary key.")
        )
