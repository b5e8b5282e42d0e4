"""Changes elsewhere that can add a pending account step: an establishment starts requiring a second factor for
its staff, or someone gets a new role. They invalidate the "nothing pending" remembered in sessions."""

from django.db.models.signals import post_delete, post_save


def _bump(sender, **kwargs):
    from .selectors import bump_state_generation

    if kwargs.get("raw"):
        return
    bump_state_generation()


def connect() -> None:
    from preau.directory.models import Establishment, Membership

    for model in (Establishment, Membership):
        post_save.connect(_bump, sender=model, dispatch_uid=f"preau.accounts.state.{model.__name__}.save")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"preau.accounts.state.{model.__name__}.delete")
