from django.conf import settings

from . import context
from .services import dashboard_services


def shell(request):
    """What the page shell (header, switchers, navigation) needs. Evaluated lazily by the templates."""
    actor = getattr(request, "actor", None)
    if actor is None:
        return {"site_name": settings.PREAU_SITE_NAME}
    return {
        "site_name": settings.PREAU_SITE_NAME,
        "actor": actor,
        "current_establishment": lambda: context.establishment(request),
        "current_child": lambda: context.child(request),
        "nav_services": lambda: [
            {**tile, "active": request.path.startswith(tile["url"])}
            for tile in dashboard_services(actor, context.establishment(request))
        ],
    }
