from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from preau.access import policy


@login_required
def home(request):
    classes = policy.classes_visible_to(request.actor).filter(school_year__is_current=True).select_related(
        "establishment")
    return render(request, "directory/home.html", {"classes": classes})
