"""Background tasks of the accounts app (run eagerly without a broker)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User


@shared_task(ignore_result=True)
def send_password_reset_email(user_id: int, domain: str, use_https: bool) -> None:
    """Build the reset link here (the token never goes through the broker) and send it."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or not user.has_usable_password():
        return
    context = {
        "user": user,
        "protocol": "https" if use_https else "http",
        "domain": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "site_name": settings.PREAU_SITE_NAME,
    }
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = "".join(loader.render_to_string("accounts/email/password_reset_subject.txt", context).splitlines())
        body = loader.render_to_string("accounts/email/password_reset.txt", context)
    EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email]).send()
