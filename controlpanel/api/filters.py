"""Filtering: `?client=7` filters by id. An id that matches nothing gives an empty list,
not an error (a list filter is a question, not a reference that must exist). An id that is
not a whole number within the database's range (`?client=99999999999999999999`) is a 400
naming the parameter, never a 500."""

from __future__ import annotations

from django import forms
from django.db import models
from django_filters import rest_framework as filters
from django_filters.filterset import FILTER_FOR_DBFIELD_DEFAULTS

# PostgreSQL's bigint: the widest integer column Hangar has.
MAX_ID = 2**63 - 1


class WholeNumberField(forms.IntegerField):
    default_error_messages = {
        "invalid": "Enter a whole number.",
        "max_value": f"Ensure this value is at most {MAX_ID}.",
        "min_value": "Ensure this value is at least %(limit_value)s.",
    }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", -MAX_ID)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class WholeNumberFilter(filters.NumberFilter):
    field_class = WholeNumberField


_WHOLE = {"filter_class": WholeNumberFilter}


class IdFilterSet(filters.FilterSet):
    FILTER_DEFAULTS = {
        **FILTER_FOR_DBFIELD_DEFAULTS,
        models.ForeignKey: _WHOLE,
        models.OneToOneField: _WHOLE,
        models.AutoField: _WHOLE,
        models.BigAutoField: _WHOLE,
        models.IntegerField: _WHOLE,
        models.BigIntegerField: _WHOLE,
        models.SmallIntegerField: _WHOLE,
        models.PositiveIntegerField: _WHOLE,
        models.PositiveBigIntegerField: _WHOLE,
        models.PositiveSmallIntegerField: _WHOLE,
    }


class FilterBackend(filters.DjangoFilterBackend):
    filterset_base = IdFilterSet

    def filter_queryset(self, request, queryset, view):
        # No parameter, no filter: skip building a filter set and its form for nothing
        # (every filter leaves the queryset as it is when its parameter is absent).
        if not request.query_params:
            return queryset
        return super().filter_queryset(request, queryset, view)
