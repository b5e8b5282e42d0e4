from django import forms
from django.utils.translation import gettext_lazy as _

from . import kinds


class PreferencesForm(forms.Form):
    """The grid (one checkbox per kind and channel, named "<kind>__<channel>") and the quiet hours."""

    quiet_start = forms.TimeField(label=_("Pas de courriel à partir de"), widget=forms.TimeInput(
        attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(label=_("jusqu'à"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_weekends = forms.BooleanField(label=_("Pas de courriel le samedi ni le dimanche"), required=False)

    def __init__(self, *args, grid: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.grid = grid
        for row in grid:
            for cell in row["channels"]:
                name = f"{row['kind']}__{cell['channel']}"
                self.fields[name] = forms.BooleanField(required=False, initial=cell["enabled"],
                                                       disabled=cell["locked"])
                cell["name"] = name

    def channels(self) -> dict[str, dict[str, bool]]:
        return {row["kind"]: {cell["channel"]: bool(self.cleaned_data.get(cell["name"]))
                              for cell in row["channels"] if not cell["locked"]}
                for row in self.grid}

    def bound_cells(self):
        """Rows for the template: (row, [(cell, bound field)])."""
        return [(row, [(cell, self[cell["name"]]) for cell in row["channels"]]) for row in self.grid]


__all__ = ["PreferencesForm", "kinds"]
