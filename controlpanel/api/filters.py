"""Filtering: `?client=7` filters by id. An id that matches nothing gives an empty list,
not an error (a list filter is a question, not a reference that must exist)."""

from __future__ import annotations

from django.db import models
from django_filters import rest_framework as filters
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS


class IdFilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.ForeignKey: {"filter_class": filters.NumberFilter},
        models.OneToOneField: {"filter_class": filters.NumberFilter},
    }


class FilterBackend(filters.DjangoFilterBackend):
    filterset_base = IdFilterSet
