"""The base of every form of the UI: Bootstrap classes on widgets, `is-invalid` on fields
with errors (including errors a service raised after the form validated)."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join


def _widget_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class StyledMixin:
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            classes = widget.attrs.get("class", "")
            wanted = _widget_class(widget)
            if wanted not in classes.split():
                widget.attrs["class"] = f"{classes} {wanted}".strip()

    def add_error(self, field, error) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        names = [field] if field else []
        if field is None and hasattr(error, "error_dict"):
            names = list(error.error_dict)
        for name in names:
            if name in self.fields:  # type: ignore[attr-defined]
                widget = self.fields[name].widget  # type: ignore[attr-defined]
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class Form(StyledMixin, forms.Form):
    pass


class WriteOnlyTextarea(forms.Textarea):
    """A secret's textarea: never sends a value back to the browser, not even the one just
    submitted when the form is shown again with errors."""

    def format_value(self, value):
        return None


class LongSelect(forms.Select):
    """A select of many flat choices (a thousand clients) written out directly: the same
    HTML as `forms.Select`, without a template rendered per option (~50 ms a page)."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((str(v), " selected" if str(v) in chosen else "", label) for v, label in self.choices),
        )
        final = self.build_attrs(self.attrs, attrs)
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(final), options)


class ConfirmNameForm(Form):
    """A destructive action: the object's name typed back."""

    confirm = forms.CharField(label="Type the name to confirm", strip=True)

    def __init__(self, *args, expected: str, label: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirm"].label = label or f"Type {expected} to confirm"
        self.fields["confirm"].widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "data-confirm-name": expected}
        )

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if value != self.expected:
            raise forms.ValidationError(f"That is not {self.expected}. Type it exactly.")
        return value


class ReauthConfirmNameForm(ConfirmNameForm):
    """The name typed back, and the current password: a stolen session alone must not be
    enough to destroy an environment."""

    password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
