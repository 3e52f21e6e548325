#!/bin/sh
# Healthy = Asterisk fully booted, PJSIP and ARI loaded, ARI answering over HTTP.
set -eu
asterisk -rx 'core waitfullybooted' >/dev/null 2>&1
asterisk -rx 'module show like res_ari.so' | grep -q 'Running'
asterisk -rx 'module show like res_pjsip.so' | grep -q 'Running'
# any HTTP answer from ARI (401 without credentials) proves the HTTP server and ARI are up
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8088/ari/asterisk/ping)
[ "$code" = "401" ] || [ "$code" = "200" ]
