#!/bin/sh
# The image's entrypoint: `IMAGE web|worker|scheduler|release` runs that line of the Procfile, the
# way a PaaS runs it (through /bin/sh, so ${PORT:-8000} and the others expand; exec'd, so the process
# is PID 1 and gets the platform's SIGTERM). Anything else is run as given: `IMAGE python -m cli doctor`.
set -eu

procfile=/app/Procfile
types=$(sed -n 's/^\([A-Za-z0-9_-]*\):.*/\1/p' "$procfile" | tr '\n' ' ')

if [ $# -eq 0 ]; then
    echo "sellersync: name a process type of the Procfile (${types% }), or a command" >&2
    exit 64
fi
case "$1" in
*[!A-Za-z0-9_-]*) ;;
*)
    command=$(sed -n "s/^$1:[[:space:]]*//p" "$procfile")
    if [ -n "$command" ]; then
        [ $# -eq 1 ] || { echo "sellersync: the $1 process takes no arguments" >&2; exit 64; }
        exec /bin/sh -c "exec $command"
    fi
    ;;
esac
exec "$@"
