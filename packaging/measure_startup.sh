#!/bin/sh
# Cold start of the app: seconds from launch until its main window is mapped (viewable), polled
# every 20 ms with xdotool. Run under X, e.g.:
#   xvfb-run -a packaging/measure_startup.sh dist/tinystyle-studio-light/tinystyle-studio
# Uses a throw-away TINYSTYLE_HOME so no remembered state changes what starts.
set -eu
TINYSTYLE_HOME=$(mktemp -d)
export TINYSTYLE_HOME
start=$(date +%s.%N)
"$@" >"$TINYSTYLE_HOME/out.txt" 2>&1 &
pid=$!
until xdotool search --onlyvisible --name "^TinyStyle Studio" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { echo "the app exited before showing a window:" >&2; cat "$TINYSTYLE_HOME/out.txt" >&2; exit 1; }
    sleep 0.02
done
end=$(date +%s.%N)
kill "$pid"
wait "$pid" 2>/dev/null || true
rm -rf "$TINYSTYLE_HOME"
echo "$end $start" | awk '{printf "window shown after %.2f s\n", $1 - $2}'
