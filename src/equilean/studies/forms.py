"""Forms for setting up a study, adding transcripts, resolving disagreements and themes."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from equilean.engine.errors import InputError
from equilean.studies.models import Code, Participant, Site, Study, Theme
from equilean.studies.scope import Membership
from equilean.studies.text import normalise, read_upload


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = ["title", "question", "node", "unit", "interviewer"]

    def __init__(self, *args, nodes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = nodes


class UnitForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = ["unit", "interviewer"]


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = ["name"]


class ParticipantForm(forms.ModelForm):
    class Meta:
        model = Participant
        fields = ["pseudonym", "role", "tier", "site"]

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        self.fields["site"].queryset = study.sites.all()

    def clean_pseudonym(self) -> str:
        value = self.cleaned_data["pseudonym"].strip()
        if self.study.participants.filter(pseudonym=value).exists():
            raise forms.ValidationError(f"{value} is already a participant of this study.")
        return value


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.choices)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        try:
            return get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise forms.ValidationError(f"No active person signs in as {username!r}.") from None


class CodeForm(forms.ModelForm):
    class Meta:
        model = Code
        fields = ["name", "parent", "definition", "inclusion", "exclusion", "examples"]
        widgets = {f: forms.Textarea(attrs={"rows": 2}) for f in fields[2:]}

    def __init__(self, *args, version, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.fields["parent"].queryset = version.codes.all()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if self.version.codes.filter(name=name).exists():
            raise forms.ValidationError(f"The codebook already has a code named {name!r}.")
        return name


class TranscriptForm(forms.Form):
    """Paste or upload; a file wins over pasted text. Identifiers need confirming."""

    title = forms.CharField(max_length=200)
    participant = forms.ModelChoiceField(queryset=Participant.objects.none(), required=False)
    training = forms.BooleanField(required=False, label="Part of the training subset")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), required=False)
    file = forms.FileField(required=False, help_text=".txt, .docx or .vtt")
    # Where the text came from, kept while the person checks flagged identifiers.
    source = forms.ChoiceField(
        choices=[("pasted", "pasted"), ("txt", "txt"), ("docx", "docx"), ("vtt", "vtt")],
        required=False,
        widget=forms.HiddenInput,
    )
    checked = forms.BooleanField(
        required=False,
        label="I have checked the text: what was flagged does not identify anyone",
    )

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["participant"].queryset = study.participants.all()

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            try:
                data["text"] = read_upload(upload.name, upload.read())
            except InputError as error:
                raise forms.ValidationError({"file": str(error)}) from None
            data["source"] = upload.name.rsplit(".", 1)[-1].lower()
        else:
            data["text"] = normalise(data.get("text") or "")
            data["source"] = data.get("source") or "pasted"
        if not data["text"].strip():
            raise forms.ValidationError({"text": "Paste the transcript or choose a file."})
        return data


class ResolutionForm(forms.Form):
    applies = forms.TypedChoiceField(
        choices=[("yes", "The code applies"), ("no", "The code does not apply")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ThemeForm(forms.ModelForm):
    code_names = forms.MultipleChoiceField(
        choices=[], widget=forms.CheckboxSelectMultiple, label="Codes"
    )

    class Meta:
        model = Theme
        fields = ["name", "description", "code_names", "recommendation"]

    def __init__(self, *args, study: Study, **kwargs):
        super().__init__(*args, **kwargs)
        codebook = study.codebook()
        names = codebook.codes.values_list("name", flat=True) if codebook else []
        self.fields["code_names"].choices = [(n, n) for n in names]
