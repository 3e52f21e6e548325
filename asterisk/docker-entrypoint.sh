#!/bin/sh
# Renders the parts of Asterisk's configuration that come from the environment into
# /etc/asterisk/generated/, then runs Asterisk in the foreground as the asterisk user.
#
#   ARI_USERNAME                 required; letters, digits, . _ -
#   ARI_PASSWORD | ARI_PASSWORD_FILE   required (a docker secret file); at least 16 characters
#   ARI_PASSWORD_ROUNDS          SHA-512 crypt rounds of the stored hash (default 1000: checked per request)
#   ARI_PASSWORD_FORMAT          crypt (default) | plain: the password stored as it is, in the
#                                700 directory that holds the trunk password too — Asterisk then
#                                skips the hash check it makes on every ARI request (~0.4 ms of
#                                its CPU per request, a third of what a call costs it)
#   ARI_APP                      Stasis application of the dialplan (default pbx)
#   HTTP_BIND_ADDRESS            where ARI listens (default 0.0.0.0: the container's networks;
#                                never publish port 8088)
#   SIP_EXTERNAL_ADDRESS         public IP/hostname for SIP and RTP behind NAT (optional)
#   SIP_LOCAL_NETS               comma-separated local networks (default RFC 1918 ranges)
#   TRUNK_HOST                   carrier host[:port]; unset → no trunk
#   TRUNK_USERNAME, TRUNK_PASSWORD | TRUNK_PASSWORD_FILE   carrier credentials (optional)
#   TRUNK_MATCH                  addresses the carrier calls from (default: TRUNK_HOST's host)
#   TRUNK_REGISTER               yes → register at the carrier (default no)
#   ASTERISK_E2E                 yes → load asterisk/extensions-e2e.conf (test deployments only)
#
# Secrets never appear in logs or on the command line; the ARI password is stored only as a
# SHA-512 crypt hash unless ARI_PASSWORD_FORMAT=plain says otherwise.
set -eu

# ASTERISK_ETC and RENDER_ONLY=yes exist for test/asterisk/entrypoint.test.ts
ETC="${ASTERISK_ETC:-/etc/asterisk}"
GEN="$ETC/generated"

fail() {
  echo "docker-entrypoint: $*" >&2
  exit 64
}

# value of $1, or the contents of the file named by $1_FILE
secret() {
  eval "value=\${$1:-}"
  eval "file=\${$1_FILE:-}"
  if [ -z "$value" ] && [ -n "$file" ]; then
    [ -r "$file" ] || fail "$1_FILE: cannot read $file"
    value=$(cat "$file")
  fi
  printf '%s' "$value"
}

# one line, no characters that would end a config value early
single_line() {
  case "$2" in
    *"
"*) fail "$1 must be a single line" ;;
  esac
}

# config values: ';' starts a comment unless escaped
escape_value() {
  printf '%s' "$1" | sed 's/;/\\;/g'
}

umask 077
mkdir -p "$GEN"

# --- ARI user
ARI_USERNAME="${ARI_USERNAME:-}"
[ -n "$ARI_USERNAME" ] || fail "ARI_USERNAME is required"
printf '%s' "$ARI_USERNAME" | grep -Eq '^[A-Za-z0-9._-]{1,64}$' || fail "ARI_USERNAME: letters, digits, . _ - only (1-64)"
ARI_PASSWORD_VALUE=$(secret ARI_PASSWORD)
[ -n "$ARI_PASSWORD_VALUE" ] || fail "ARI_PASSWORD or ARI_PASSWORD_FILE is required (no default password is shipped)"
[ "${#ARI_PASSWORD_VALUE}" -ge 16 ] || fail "the ARI password must have at least 16 characters"
single_line ARI_PASSWORD "$ARI_PASSWORD_VALUE"
# Asterisk checks this hash on EVERY ARI REST request (no session): at crypt's default 5000
# rounds that was ~1.8 ms of Asterisk CPU per request, most of what a call cost Asterisk
# (bench/README.md). 1000 rounds (SHA-crypt's minimum) costs ~0.3 ms; the password is a machine
# secret of at least 16 characters, where the round count adds little. Raise it with
# ARI_PASSWORD_ROUNDS when the secret is weak.
ARI_PASSWORD_ROUNDS="${ARI_PASSWORD_ROUNDS:-1000}"
printf '%s' "$ARI_PASSWORD_ROUNDS" | grep -Eq '^[1-9][0-9]{3,8}$' || fail "ARI_PASSWORD_ROUNDS: a number from 1000 to 999999999"
ARI_PASSWORD_FORMAT="${ARI_PASSWORD_FORMAT:-crypt}"
case "$ARI_PASSWORD_FORMAT" in
  crypt)
    ARI_SALT=$(openssl rand -base64 12 | tr '+/' './')
    ARI_STORED=$(printf '%s' "$ARI_PASSWORD_VALUE" | openssl passwd -6 -salt "rounds=${ARI_PASSWORD_ROUNDS}\$${ARI_SALT}" -stdin)
    ;;
  plain)
    echo "docker-entrypoint: ARI_PASSWORD_FORMAT=plain — the ARI password is stored unhashed in $GEN (mode 700)" >&2
    ARI_STORED="$ARI_PASSWORD_VALUE"
    ;;
  *) fail "ARI_PASSWORD_FORMAT: crypt or plain" ;;
esac
unset ARI_PASSWORD ARI_PASSWORD_VALUE
cat > "$GEN/ari_users.conf" <<CONF
[$ARI_USERNAME]
type = user
read_only = no
password_format = $ARI_PASSWORD_FORMAT
password = $ARI_STORED
CONF
unset ARI_STORED

# --- HTTP bind address
HTTP_BIND_ADDRESS="${HTTP_BIND_ADDRESS:-0.0.0.0}"
printf '%s' "$HTTP_BIND_ADDRESS" | grep -Eq '^[0-9A-Fa-f:.]+$' || fail "HTTP_BIND_ADDRESS must be an IP address"
printf 'bindaddr = %s\n' "$HTTP_BIND_ADDRESS" > "$GEN/http_bind.conf"

# --- dialplan globals
ARI_APP="${ARI_APP:-pbx}"
printf '%s' "$ARI_APP" | grep -Eq '^[A-Za-z0-9_-]+$' || fail "ARI_APP: letters, digits, _ and - only"
printf 'ARI_APP = %s\n' "$ARI_APP" > "$GEN/extensions_globals.conf"

if [ "${ASTERISK_E2E:-no}" = "yes" ]; then
  echo "#include extensions-e2e.conf" > "$GEN/extensions_e2e.conf"
  echo "docker-entrypoint: ASTERISK_E2E=yes — the e2e dialplan is loaded (test deployments only)" >&2
else
  echo "; e2e dialplan not loaded (ASTERISK_E2E != yes)" > "$GEN/extensions_e2e.conf"
fi

# --- NAT
{
  echo "[transport-nat](!)"
  if [ -n "${SIP_EXTERNAL_ADDRESS:-}" ]; then
    printf '%s' "$SIP_EXTERNAL_ADDRESS" | grep -Eq '^[A-Za-z0-9.:-]+$' || fail "SIP_EXTERNAL_ADDRESS must be an IP address or host name"
    echo "external_media_address = $SIP_EXTERNAL_ADDRESS"
    echo "external_signaling_address = $SIP_EXTERNAL_ADDRESS"
    for net in $(printf '%s' "${SIP_LOCAL_NETS:-10.0.0.0/8,172.16.0.0/12,192.168.0.0/16}" | tr ',' ' '); do
      printf '%s' "$net" | grep -Eq '^[0-9A-Fa-f:.]+(/[0-9]+)?$' || fail "SIP_LOCAL_NETS: '$net' is not a network"
      echo "local_net = $net"
    done
  fi
} > "$GEN/pjsip_nat.conf"

# --- carrier trunk
{
  echo "; rendered by docker-entrypoint.sh from TRUNK_* — do not edit"
  if [ -n "${TRUNK_HOST:-}" ]; then
    printf '%s' "$TRUNK_HOST" | grep -Eq '^[A-Za-z0-9.-]+(:[0-9]+)?$' || fail "TRUNK_HOST must be host or host:port"
    TRUNK_MATCH="${TRUNK_MATCH:-${TRUNK_HOST%%:*}}"
    printf '%s' "$TRUNK_MATCH" | grep -Eq '^[A-Za-z0-9.:/,-]+$' || fail "TRUNK_MATCH: addresses, networks or host names, comma-separated"
    TRUNK_USERNAME="${TRUNK_USERNAME:-}"
    single_line TRUNK_USERNAME "$TRUNK_USERNAME"
    TRUNK_PASSWORD_VALUE=$(secret TRUNK_PASSWORD)
    single_line TRUNK_PASSWORD "$TRUNK_PASSWORD_VALUE"

    echo "[trunk](trunk-aor-template)"
    echo "contact = sip:$TRUNK_HOST"
    echo
    echo "[trunk](trunk-endpoint-template)"
    echo "aors = trunk"
    echo "from_domain = ${TRUNK_HOST%%:*}"
    if [ -n "$TRUNK_USERNAME" ]; then
      echo "outbound_auth = trunk-auth"
      echo "from_user = $(escape_value "$TRUNK_USERNAME")"
      echo
      echo "[trunk-auth](trunk-auth-template)"
      echo "username = $(escape_value "$TRUNK_USERNAME")"
      echo "password = $(escape_value "$TRUNK_PASSWORD_VALUE")"
    fi
    echo
    echo "[trunk-identify]"
    echo "type = identify"
    echo "endpoint = trunk"
    echo "match = $TRUNK_MATCH"
    if [ "${TRUNK_REGISTER:-no}" = "yes" ]; then
      [ -n "$TRUNK_USERNAME" ] || fail "TRUNK_REGISTER=yes needs TRUNK_USERNAME"
      echo
      echo "[trunk-registration]"
      echo "type = registration"
      echo "transport = transport-udp"
      echo "outbound_auth = trunk-auth"
      echo "server_uri = sip:$TRUNK_HOST"
      echo "client_uri = sip:$(escape_value "$TRUNK_USERNAME")@${TRUNK_HOST%%:*}"
      echo "contact_user = $(escape_value "$TRUNK_USERNAME")"
      echo "retry_interval = 60"
      echo "forbidden_retry_interval = 600"
      echo "expiration = 3600"
    fi
    unset TRUNK_PASSWORD TRUNK_PASSWORD_VALUE
  else
    echo "docker-entrypoint: TRUNK_HOST unset — no carrier trunk (DIAL_EXTERNAL=PJSIP/{number}@trunk will fail)" >&2
  fi
} > "$GEN/pjsip_trunk.conf"

chmod 700 "$GEN"
if [ "${RENDER_ONLY:-no}" = "yes" ]; then
  exit 0
fi
chown -R asterisk:asterisk "$GEN" /var/lib/asterisk/astdb /var/spool/asterisk /var/log/asterisk /var/run/asterisk

if [ "$#" -gt 0 ]; then
  exec "$@"
fi
# -f foreground (logs to stdout), -U/-G drop root after binding, -p realtime priority if allowed
exec /usr/sbin/asterisk -f -U asterisk -G asterisk -vvv -n
