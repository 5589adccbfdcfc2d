"""One-line decorators for views that read only the catalogue (core.http_cache).

    @permission_required("directory.view_group")
    @catalogue_cached          # an export or a feed: the same bytes for everyone
    def export_csv(request): ...

    @catalogue_page            # a page in the site's layout: shared with its session only
    def print_list(request): ...

Put them under the permission decorators. The response must depend only on the catalogue,
the address (path and query), the language and the day; anything else (the user's clinic, a
client) must not be served through them.
"""

from core.http_cache import shared_read
from directory.selectors.catalogue import version

catalogue_cached = shared_read(version, namespace="catalogue")
catalogue_page = shared_read(version, namespace="catalogue-page", personal=True)
