"""Forms of the messaging pages. They parse and check the shape of what was typed; the services decide and write
(who may be addressed, limits, safety checks), and their refusals (`MessagingError`) are shown on the form.

Addresses travel as "type:id" tokens ("class_guardians:12", "person:345"): the values of the recipient lists'
options, with or without JavaScript (the recipient picker only fills the same lists).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import linebreaks_filter
from django.utils.translation import gettext_lazy as _

from preau.imports.forms import MultipleFileField

from . import services
from .addresses import ADDRESS_TYPES, MAX_DB_INT
from .models import Folder, Message

# Most addresses one list (to, cc or bcc) may carry (a group counts as one), most messages one bulk action takes.
MAX_ADDRESSES = services.MAX_ADDRESSES_PER_LIST
MAX_IDS = services.MAX_IDS
SUBJECT_MAX = Message._meta.get_field("subject").max_length
BODY_MAX = 50_000


def parse_token(token: str) -> dict | None:
    """{"type", "id"} for a "type:id" token, None when it is not one."""
    kind, sep, raw = (token or "").strip().partition(":")
    if not sep or kind not in ADDRESS_TYPES or not raw.isdigit():
        return None
    number = int(raw)
    if not 0 < number <= MAX_DB_INT:
        return None
    return {"type": kind, "id": number}


def token(address: dict) -> str:
    return f"{address['type']}:{address['id']}"


def body_html(text: str) -> str:
    """The HTML of a message typed in the plain textarea: escaped, paragraphs and line breaks kept (the service
    sanitises it again)."""
    return linebreaks_filter(text.strip(), autoescape=True) if text and text.strip() else ""


class AddressListField(forms.Field):
    """A list of address tokens (a <select multiple> whose options the view fills)."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        addresses, seen = [], set()
        for item in values:
            address = parse_token(str(item))
            if address is None:
                raise ValidationError(_("Destinataire inconnu."), code="invalid")
            if token(address) not in seen:
                seen.add(token(address))
                addresses.append(address)
        if len(addresses) > MAX_ADDRESSES:
            raise ValidationError(_("Trop de destinataires dans cette liste (%(max)s au plus)."),
                                  code="too_many", params={"max": MAX_ADDRESSES})
        return addresses


class AttachmentsMixin(forms.Form):
    attachments = MultipleFileField(label=_("Pièces jointes"), required=False,
                                    help_text=_("Vous pouvez en choisir plusieurs."))


class RecipientsMixin(forms.Form):
    to = AddressListField(label=_("À"), required=False)
    cc = AddressListField(label=_("Copie (Cc)"), required=False)
    bcc = AddressListField(label=_("Copie cachée (Cci)"), required=False,
                           help_text=_("Les autres destinataires ne voient pas ces adresses."))
    term = forms.CharField(label=_("Rechercher un destinataire"), required=False, max_length=100,
                           help_text=_("Un nom, une classe, un groupe."))

    def addresses(self) -> dict:
        data = self.cleaned_data
        return {"to": data.get("to") or [], "cc": data.get("cc") or [], "bcc": data.get("bcc") or []}

    def chosen_tokens(self) -> list[str]:
        """The tokens typed in any of the three lists (even when the form is invalid), for their labels."""
        tokens = []
        for name in ("to", "cc", "bcc"):
            for value in self.data.getlist(self.add_prefix(name)) if self.is_bound else []:
                if parse_token(value) is not None and value not in tokens:
                    tokens.append(value)
        return tokens

    def check_recipients(self):
        if not any(self.cleaned_data.get(name) for name in ("to", "cc", "bcc")):
            self.add_error("to", ValidationError(_("Ajoutez au moins un destinataire."), code="required"))


class ComposeForm(RecipientsMixin, AttachmentsMixin):
    """A new message (or a draft). `action` is the button pressed: "send", "draft" or "search"."""

    subject = forms.CharField(label=_("Objet"), max_length=SUBJECT_MAX, required=False)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 12}), required=False,
                           max_length=BODY_MAX)
    remove_attachments = forms.TypedMultipleChoiceField(
        label=_("Retirer des pièces jointes"), required=False, coerce=int, choices=(),
        widget=forms.CheckboxSelectMultiple)

    field_order = ["to", "cc", "bcc", "term", "subject", "body", "attachments", "remove_attachments"]

    def __init__(self, *args, action: str = "send", attachments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action
        self.fields["remove_attachments"].choices = [(a.pk, a.name) for a in attachments]

    def clean(self):
        data = super().clean()
        if self.action == "send":
            self.check_recipients()
            if not (data.get("subject") or "").strip():
                self.add_error("subject", ValidationError(_("Indiquez l'objet du message."), code="required"))
            if not (data.get("body") or "").strip():
                self.add_error("body", ValidationError(_("Écrivez votre message."), code="required"))
        return data


class ReplyForm(AttachmentsMixin):
    body = forms.CharField(label=_("Votre réponse"), widget=forms.Textarea(attrs={"rows": 10}), max_length=BODY_MAX,
                           error_messages={"required": _("Écrivez votre réponse.")})
    field_order = ["body", "attachments"]


class ForwardForm(RecipientsMixin):
    body = forms.CharField(label=_("Votre message (facultatif)"), widget=forms.Textarea(attrs={"rows": 6}),
                           required=False, max_length=BODY_MAX)

    def __init__(self, *args, action: str = "send", **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action

    def clean(self):
        data = super().clean()
        if self.action == "send":
            self.check_recipients()
        return data


class FolderForm(forms.Form):
    name = forms.CharField(label=_("Nom du dossier"), max_length=Folder._meta.get_field("name").max_length,
                           error_messages={"required": _("Donnez un nom au dossier.")})

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError(_("Donnez un nom au dossier."), code="required")
        return name


class IdListField(forms.Field):
    """Message ids (checkboxes named "ids"): positive integers in the database's range."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        ids = []
        for item in values:
            item = str(item).strip()
            if not item.isdigit() or not 0 < int(item) <= MAX_DB_INT:
                raise ValidationError(_("Sélection invalide."), code="invalid")
            if int(item) not in ids:
                ids.append(int(item))
        return ids


class BulkForm(forms.Form):
    """The mailbox's selection and the action chosen for it."""

    ACTIONS = ("read", "unread", "move", "trash", "restore")

    ids = IdListField(required=False)
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    folder = forms.CharField(required=False)

    def __init__(self, *args, folders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.folder_ids = {f.pk for f in folders}

    def clean(self):
        data = super().clean()
        ids = data.get("ids") or []
        if not ids and "ids" not in self.errors:
            raise ValidationError(_("Sélectionnez au moins un message."), code="empty")
        if len(ids) > MAX_IDS:
            raise ValidationError(_("Trop de messages sélectionnés (%(max)s au plus)."), code="too_many",
                                  params={"max": MAX_IDS})
        if data.get("action") == "move":
            folder = data.get("folder") or ""
            if folder == "inbox":
                data["box"], data["folder_id"] = "inbox", None
            elif folder.isdigit() and int(folder) in self.folder_ids:
                data["box"], data["folder_id"] = "folder", int(folder)
            else:
                raise ValidationError(_("Choisissez le dossier de destination."), code="folder")
        return data


class MoveForm(forms.Form):
    """Move one message (the thread page)."""

    folder = forms.ChoiceField(label=_("Déplacer vers"))

    def __init__(self, *args, folders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].choices = [("inbox", _("Boîte de réception"))] + [
            (str(f.pk), f.name) for f in folders] + [("trash", _("Corbeille"))]

    def destination(self) -> tuple[str, int | None]:
        value = self.cleaned_data["folder"]
        if value in ("inbox", "trash"):
            return value, None
        return "folder", int(value)
