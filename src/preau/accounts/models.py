"""Accounts: one login per person, its credentials and second factors."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username, password=None, **fields):
        user = self.model(username=username, **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **fields):
        fields.setdefault("is_global_admin", True)
        fields.setdefault("activated_at", timezone.now())
        return self.create_user(username, password, **fields)


class User(AbstractBaseUser):
    """A person known to Préau, with their single account. Roles live in directory.Membership."""

    username = models.CharField(_("identifiant"), max_length=150, unique=True)
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    email = models.EmailField(_("adresse électronique"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=32, blank=True)
    birth_date = models.DateField(_("date de naissance"), null=True, blank=True)
    # Stable join key from the national directory (AAF ENTPersonJointure / SIECLE id); unique when present.
    external_id = models.CharField(_("identifiant externe"), max_length=64, null=True, blank=True, unique=True)
    ine = models.CharField(_("INE"), max_length=11, blank=True)

    is_active = models.BooleanField(_("actif"), default=True)
    is_global_admin = models.BooleanField(_("administrateur global"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # None until the person has activated the account with their one-time code.
    activated_at = models.DateTimeField(null=True, blank=True)
    must_change_password = models.BooleanField(default=False)

    contact_by_email = models.BooleanField(_("recevoir les avis par courriel"), default=True)
    language = models.CharField(_("langue"), max_length=8, default="fr")

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        verbose_name = _("personne")
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self):
        return self.full_name or self.username

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.first_name

    @property
    def is_activated(self) -> bool:
        return self.activated_at is not None
