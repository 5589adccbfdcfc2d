"""gunicorn for the product, behind nginx (deploy/nginx/). Run as
``gunicorn -c deploy/gunicorn.conf.py config.wsgi`` (deploy/systemd/selfhelp.service).

Sync workers: nginx buffers each request in full before passing it on and each response before
the client reads it, so a worker only ever talks to nginx at loopback speed; slow clients wait
in nginx, which is built for it. (Without nginx, six slow clients held all four sync workers:
docs/SECURITY.md.) The limits below sit under nginx's, so a request nginx lets through is never
refused here, and anything reaching gunicorn directly is still bounded.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "unix:/run/selfhelp/gunicorn.sock")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A request taking longer than this is killed: the heaviest page measured at county scale
# takes well under a second (docs/PERFORMANCE.md); exports stream.
timeout = 30
graceful_timeout = 30
keepalive = 2
# Request line, header count and header size: gunicorn's defaults made explicit, all above
# nginx's (4 kB line, 8 kB header lines): only a request bypassing nginx meets them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# nginx's X-Forwarded-Proto is trusted from nginx only (the socket, or a loopback address).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# A worker is replaced after this many requests (a leak cannot grow without bound).
max_requests = 2000
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Addresses only: no query strings (searches are POSTs; no PHI in URLs anyway).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
