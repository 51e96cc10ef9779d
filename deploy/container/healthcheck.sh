#!/bin/sh
# The image's HEALTHCHECK: GET /health of the web process (200 while it serves requests). The other
# process types serve no HTTP: for them the check passes, so one image can carry the web's check.
case "$(tr '\0' ' ' </proc/1/cmdline)" in
*gunicorn*) ;;
*) exit 0 ;;
esac
exec python - <<'PYTHON'
import os
import sys
import urllib.request

host = os.environ.get("WEB_BIND") or "0.0.0.0"
host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
url = f"http://{host}:{os.environ.get('PORT') or '8000'}/health"
try:
    with urllib.request.urlopen(url, timeout=4) as answer:  # noqa: S310 (our own URL)
        sys.exit(0 if answer.status == 200 else 1)
except Exception as error:
    print(f"GET {url}: {error}")
    sys.exit(1)
PYTHON
