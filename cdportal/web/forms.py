"""The forms pages read their filters and action inputs with."""

from django import forms

from cdportal.pipeline.models import Action, Component, Release


class HistoryFilter(forms.Form):
    component = forms.ModelChoiceField(queryset=Component.objects.all(), required=False)
    type = forms.RegexField(
        regex=r"^[A-Za-z][\w-]{0,30}$",
        required=False,
        error_messages={"invalid": "A commit type is a word such as feat or fix."},
    )
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


class DiffForm(forms.Form):
    older = forms.ModelChoiceField(queryset=Release.objects.filter(released_at__isnull=False))
    newer = forms.ModelChoiceField(queryset=Release.objects.filter(released_at__isnull=False))

    def __init__(self, data):
        super().__init__({"older": data.get("from"), "newer": data.get("to")})

    def clean(self):
        data = super().clean()
        older, newer = data.get("older"), data.get("newer")
        if older and newer and older.component_id != newer.component_id:
            raise forms.ValidationError("Pick two releases of the same component.")
        return data


class ActionFilter(forms.Form):
    kind = forms.ChoiceField(choices=[("", "all"), *Action.Kind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "all"), *Action.Status.choices], required=False)
    by = forms.CharField(max_length=150, required=False)
    target = forms.CharField(max_length=300, required=False)
    since = forms.DateField(required=False)


STATUS = r"^[A-Za-z]{1,20}$"


class ApplicationFilter(forms.Form):
    """The applications page's filters: a name fragment and exact namespace and statuses."""

    q = forms.CharField(max_length=253, required=False, strip=True)
    namespace = forms.CharField(max_length=253, required=False, strip=True)
    sync = forms.RegexField(regex=STATUS, required=False)
    health = forms.RegexField(regex=STATUS, required=False)

    def lookups(self) -> dict:
        data = self.cleaned_data
        given = {
            "name__icontains": data.get("q"),
            "namespace": data.get("namespace"),
            "sync_status": data.get("sync"),
            "health_status": data.get("health"),
        }
        return {lookup: value for lookup, value in given.items() if value}
