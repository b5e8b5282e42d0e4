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
    ine = models.CharField(_("INE"), max_length=11, blank=True, db_index=True)

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


class ActivationCode(models.Model):
    """A one-time code printed by the school: activates a new account, or lets its owner set a new password.

    Only an HMAC of the code is stored (codes are random, so a keyed hash is enough). Issuing a new code for a
    person revokes their older unused ones.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="activation_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("code d'activation")
        indexes = [models.Index(fields=["user", "created_at"])]

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and self.expires_at > now


class Charter(models.Model):
    """A version of an establishment's charter of use (charte d'utilisation), which everyone there must accept."""

    establishment = models.ForeignKey("directory.Establishment", on_delete=models.CASCADE, related_name="charters")
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("titre"), max_length=200, default=_("Charte d'utilisation de l'ENT"))
    text = models.TextField(_("texte"))
    published_at = models.DateTimeField(_("publiée le"), default=timezone.now)
    published_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("charte d'utilisation")
        ordering = ["establishment", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["establishment", "version"], name="charter_unique_version"),
        ]

    def __str__(self):
        return f"{self.title} (v{self.version})"


class CharterAcceptance(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="charter_acceptances")
    charter = models.ForeignKey(Charter, on_delete=models.CASCADE, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("acceptation de charte")
        constraints = [
            models.UniqueConstraint(fields=["user", "charter"], name="charter_acceptance_unique"),
        ]


class TOTPDevice(models.Model):
    """A person's authenticator app (TOTP, RFC 6238). The secret is stored encrypted (see accounts.crypto)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    encrypted_secret = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # None while enrolment is not confirmed with a first valid code.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last time step accepted, so a code cannot be replayed.
    last_used_step = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("application d'authentification")

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """A single-use code to pass the second step when the authenticator app is lost."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("code de secours")
        indexes = [models.Index(fields=["user", "code_hash"])]
