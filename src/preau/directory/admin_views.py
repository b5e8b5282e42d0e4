from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from preau.access import policy


@login_required
def home(request):
    if not policy.is_admin(request.actor):
        raise PermissionDenied
    return render(request, "directory/admin/home.html",
                  {"establishments": policy.administered_establishments(request.actor)})
