#!/bin/sh
# Entrypoint of the node tier's sandbox test image (tools/k8s/node/make_images.py), run as
# whatever user the pod's securityContext names. It records what the process sees into
# $HOME/.sandbox-test/ (the tests read it through the home volume's directory on the host),
# then serves the terminal port (7681) and the app port (3000) with busybox httpd.
#
#   SANDBOX_TEST_EXIT=N          record, then exit with code N (a crash loop)
#   SANDBOX_TEST_TERMINAL_GATE=1 open the terminal port only once the file
#                                $HOME/.sandbox-test/open-terminal exists
home="${HOME:-/home/agent}"
rec="$home/.sandbox-test"
mkdir -p "$rec" || { echo "sandbox-test: cannot create $rec" >&2; exit 90; }

# write NAME: stdin into $rec/NAME, atomically (a reader never sees half a file).
write() { cat >"$rec/.$1.tmp" && mv -f "$rec/.$1.tmp" "$rec/$1"; }

env | sort | write env
id | write id
grep -E '^(Uid|Gid|Groups|NoNewPrivs|Seccomp|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' /proc/self/status | write proc-status
stat -c '%u %g %a' "$home" | write home-stat
echo "$(hostname) $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$rec/starts"
echo "$(hostname)" | write started

if [ -n "${SANDBOX_TEST_EXIT:-}" ]; then
  echo "sandbox-test: exiting with $SANDBOX_TEST_EXIT as asked" >&2
  exit "$SANDBOX_TEST_EXIT"
fi

pids=""
trap 'kill $pids 2>/dev/null; exit 0' TERM INT

mkdir -p /tmp/www && echo "sandbox-test app" >/tmp/www/index.html
httpd -f -p 0.0.0.0:3000 -h /tmp/www &
pids="$pids $!"

if [ "${SANDBOX_TEST_TERMINAL_GATE:-}" = 1 ]; then
  while [ ! -e "$rec/open-terminal" ]; do sleep 0.2; done
fi
# Recorded before the port opens: whoever sees the port answer finds the file.
echo "$(hostname)" | write terminal-open
httpd -f -p 0.0.0.0:7681 -h /tmp/www &
pids="$pids $!"

wait
