"""The API's interactive documentation: Swagger UI and ReDoc, from Hangar's own static files
(drf-spectacular-sidecar, pinned in the lock files), under the panel's strict
Content-Security-Policy.

Swagger UI needs no allowance: its set-up script is a separate request (the split view)
and its styles are stylesheets. ReDoc needs the narrowest one, on its page only: the
hashes of the two <style> elements its bundle creates when it loads, an empty one (whose
rules styled-components then adds through the CSSOM, which the CSP does not govern) and
perfect-scrollbar's fixed stylesheet. No other inline style passes, and no script. Its
search box is off: the search index runs in a blob: worker, which the policy refuses.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

# The bundle's two <style> elements: "" and perfect-scrollbar's CSS (redoc 2.x as the
# pinned drf-spectacular-sidecar ships it; tests/web/test_api_docs.py notices a change).
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)


def policy_with_style_sources(policy: str, *sources: str) -> str:
    """`policy` with `sources` added to its style-src directive, and nothing else changed."""
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    extra = " ".join(sources)
    changed = [f"{d} {extra}" if d.split()[0] == "style-src" else d for d in directives]
    if changed == directives:
        changed.append(f"style-src 'self' {extra}")
    return "; ".join(changed)


class SwaggerView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"


class RedocView(SpectacularRedocView):
    template_name = "api/redoc.html"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().get(request, *args, **kwargs)
        if settings.CONTENT_SECURITY_POLICY:
            # Set here, the CSP middleware keeps it (it only fills in a missing policy).
            response["Content-Security-Policy"] = policy_with_style_sources(
                settings.CONTENT_SECURITY_POLICY, *REDOC_STYLE_HASHES
            )
        return response
