"""The directory's pages, one module per family: browse, manage, exchange (routes in urls.py)."""
