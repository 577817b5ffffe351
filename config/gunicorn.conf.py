# Production server settings; see README "Deployment".
import multiprocessing
import os

bind = os.environ.get("REGISTRY_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("REGISTRY_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = 1
# A sync worker serves one request at a time, and a client sending its body slowly would hold it: in front
# runs a proxy that receives every body whole first (docker-compose.yml, config/nginx.conf). Without one,
# REGISTRY_REQUEST_BODY_SECONDS bounds the hold (and no database transaction is open while a body arrives).
worker_class = "sync"
timeout = 300  # large uploads convert in a child process with its own limits
graceful_timeout = 30
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("REGISTRY_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
# The access log line carries no query string: search terms are names of persons.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss rid=%({x-request-id}o)s'
errorlog = "-"
