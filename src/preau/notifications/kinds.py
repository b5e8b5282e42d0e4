"""The registry of notification kinds and channels, with each kind's default channels per audience.

A kind is what a notification is about (a new message, a grade...). A channel is how it reaches the person: the
in-app list (with its unread counter and the real-time badge), an immediate email, or the daily digest email. A
person's preferences (models.NotificationPreferences) override these defaults per kind and channel.

Audiences: families (guardians) get more email than pupils and staff, who mostly live in the ENT. Adding a kind:
append a member to `Kind` and an entry to `KINDS` (and a migration for the field choices).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    MESSAGE = "message", _("Nouveau message")
    NEWS = "news", _("Actualité")
    LIAISON = "liaison", _("Carnet de liaison")
    GRADE = "grade", _("Nouvelle note")
    HOMEWORK = "homework", _("Travail à faire")
    TIMETABLE = "timetable", _("Changement d'emploi du temps")
    ABSENCE = "absence", _("Absence")
    ACCOUNT = "account", _("Compte et système")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("Dans l'ENT")
    EMAIL = "email", _("Courriel immédiat")
    DIGEST = "digest", _("Résumé quotidien")


class Audience(models.TextChoices):
    FAMILY = "family", _("Famille")
    PUPIL = "pupil", _("Élève")
    STAFF = "staff", _("Personnel")


IN_APP, EMAIL, DIGEST = Channel.IN_APP.value, Channel.EMAIL.value, Channel.DIGEST.value


@dataclass(frozen=True)
class KindSpec:
    kind: str
    label: str
    description: str
    # Channels on by default, per audience (Audience values).
    defaults: dict[str, frozenset[str]]
    # Channels a person may not turn off for this kind (account and security notices stay in the list).
    locked: frozenset[str] = frozenset()

    def default_channels(self, audience: str) -> frozenset[str]:
        return self.defaults.get(audience, frozenset({IN_APP}))


def _spec(kind: Kind, description, family, pupil=(IN_APP,), staff=(IN_APP,), locked=()) -> KindSpec:
    return KindSpec(kind=kind.value, label=kind.label, description=description,
                    defaults={Audience.FAMILY: frozenset(family), Audience.PUPIL: frozenset(pupil),
                              Audience.STAFF: frozenset(staff)},
                    locked=frozenset(locked))


KINDS: dict[str, KindSpec] = {spec.kind: spec for spec in [
    _spec(Kind.MESSAGE, _("Un message arrive dans votre messagerie."), family=(IN_APP, DIGEST)),
    _spec(Kind.NEWS, _("Une actualité est publiée pour vous ou vos enfants."), family=(IN_APP, DIGEST)),
    # Notes to families that ask for "lu et signé" are the one school kind emailed at once by default.
    _spec(Kind.LIAISON, _("Un mot du carnet de liaison, parfois à signer."), family=(IN_APP, EMAIL)),
    _spec(Kind.GRADE, _("Une nouvelle note est publiée."), family=(IN_APP, DIGEST)),
    _spec(Kind.HOMEWORK, _("Du travail à faire est donné."), family=(IN_APP, DIGEST)),
    _spec(Kind.TIMETABLE, _("Un cours est déplacé, annulé ou remplacé."), family=(IN_APP, DIGEST)),
    _spec(Kind.ABSENCE, _("Une absence ou un retard est signalé."), family=(IN_APP, EMAIL)),
    _spec(Kind.ACCOUNT, _("Votre compte : sécurité, mot de passe, messages de l'ENT."),
          family=(IN_APP, EMAIL), pupil=(IN_APP,), staff=(IN_APP, EMAIL), locked=(IN_APP,)),
]}


def spec(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"Unknown notification kind: {kind!r}") from None


def audience_of(*, is_guardian: bool, is_pupil: bool) -> str:
    """A guardian gets the families' defaults even if they also work in a school; then pupils; then staff."""
    if is_guardian:
        return Audience.FAMILY
    if is_pupil:
        return Audience.PUPIL
    return Audience.STAFF


def effective_channels(kind: str, audience: str, overrides: dict | None) -> set[str]:
    """The channels a notification of `kind` uses for a person: the defaults, then their choices
    (`overrides` is NotificationPreferences.channels: {kind: {channel: bool}}), then the locked channels."""
    kind_spec = spec(kind)
    channels = set(kind_spec.default_channels(audience))
    for channel, enabled in ((overrides or {}).get(kind) or {}).items():
        if channel in Channel.values:
            (channels.add if enabled else channels.discard)(channel)
    return channels | set(kind_spec.locked)
