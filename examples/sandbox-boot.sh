#!/bin/sh
# sandbox-boot.sh: what an AI-agent sandbox runs at boot. It trades the sandbox's token for one credential
# from the token broker and hands that credential to `codex login`, without ever putting it anywhere else.
#
# Usage:
#   sandbox-boot.sh <credential-name>
#
# Environment:
#   BROKER_URL                 required, e.g. https://token-broker.example.com (http:// or https:// only)
#   SANDBOX_TOKEN_FILE         file holding the sandbox JWT (preferred); deleted as soon as it has been read,
#                              whatever happens afterwards (also on usage errors and failed requests)
#   SANDBOX_TOKEN              the sandbox JWT itself, if no file is used (set exactly one of the two)
#   CODEX_BIN                  Codex CLI to log in with, a command name or path without arguments (default: codex)
#   BOOT_MAX_ATTEMPTS          requests in total before giving up on 5xx / connection errors (default 5)
#   BOOT_BACKOFF_SECONDS       wait before the first retry; doubles after each retry (default 1; fractions
#                              such as 0.1 are fine where sleep(1) takes them, as on GNU and busybox)
#   BOOT_BACKOFF_MAX_SECONDS   cap for the doubling wait (default 30)
#   BOOT_CONNECT_TIMEOUT       curl --connect-timeout per attempt, seconds (default 5)
#   BOOT_MAX_TIME              curl --max-time per attempt, seconds (default 30)
#
# What it does: POST $BROKER_URL/v1/credentials/<name> with `Accept: text/plain`, read the bare value from
# the body and the kind from the X-Credential-Kind header, then pipe the value into
#   $CODEX_BIN login --with-access-token   (kind codex_access_token)
#   $CODEX_BIN login --with-api-key        (kind api_key)
# Connection errors and 5xx answers are retried with exponential backoff; 4xx answers never are (a denied
# or malformed token will not get better, and retrying a single-use token only produces audit noise).
# Retry-After is not consulted: the backoff settings above are the only schedule. A connection that breaks
# after the broker has issued the credential is retried too; a broker that enforces single-use tokens then
# answers 401 token_replayed, and the script stops with exit 3 (mint a new token and run it again).
#
# Exit codes:
#   0  logged in; one summary line on stderr (credential name, kind, version id; never the value)
#   2  usage or configuration error (arguments, environment, token file, curl or CODEX_BIN missing,
#      unusable BROKER_URL); nothing was fetched
#   3  the broker refused (4xx): stderr says `sandbox-boot: <code> (<status>)`, e.g. `forbidden (403)`
#   4  broker unavailable after BOOT_MAX_ATTEMPTS: `sandbox-boot: <code> (<status>)` for a 5xx,
#      `sandbox-boot: connection_failed` when no HTTP answer came back
#   5  the broker issued the credential but `codex login` failed: `sandbox-boot: codex_login_failed (exit N)`
#   6  unexpected answer (200 without a usable kind, value or text/plain body; 1xx/3xx):
#      `sandbox-boot: unexpected_response (<status>)` or `sandbox-boot: unsupported_kind (<kind>)`
#
# Security properties:
#   - The credential lives only in a shell variable of this script: it is never exported (so no child
#     process inherits it), never written to a file of this script's own, and never appears in any
#     process's argv. It reaches Codex through a pipe written by the shell builtin printf (a builtin runs
#     in the shell's own process, so nothing is exec'd with the value on its command line). What Codex
#     does with it afterwards (it stores it in $CODEX_HOME/auth.json) is Codex's business.
#   - The sandbox token is not passed to curl on the command line, because /proc/<pid>/cmdline is
#     readable by every process in the sandbox: the Authorization header goes to curl as a config file on
#     its stdin (`--config -`), again written by printf. `-q` keeps a ~/.curlrc from adding options such
#     as --trace that would log that header.
#   - SANDBOX_TOKEN is unset right after it has been read, so curl, Codex and anything else this script
#     starts do not inherit it. It remains in this shell's own initial environment
#     (/proc/<this pid>/environ, readable by the same user) for the script's lifetime, which is why
#     SANDBOX_TOKEN_FILE is the better way to hand it over.
#   - Tracing is switched off (`set +x`) so `sh -x sandbox-boot.sh` cannot print either secret.
#   - Requires curl >= 7.84 (for `-w '%header{...}'`).

set -u
set +x

PROG=sandbox-boot
nl='
'
cr=$(printf '\r')

say() {
  printf '%s: %s\n' "$PROG" "$*" >&2
}

die() {
  _status=$1
  shift
  say "$@"
  exit "$_status"
}

usage() {
  printf 'usage: %s <credential-name>   (env: BROKER_URL, SANDBOX_TOKEN_FILE or SANDBOX_TOKEN; see the header of this script)\n' "$0" >&2
}

case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
esac

# --- 1. Take the sandbox token out of the environment / file before anything else can fail. -------------
token=
token_problem=
if [ -n "${SANDBOX_TOKEN_FILE:-}" ]; then
  token_file=$SANDBOX_TOKEN_FILE
  if [ -f "$token_file" ] && [ -r "$token_file" ]; then
    # `read` fails on a last line without a newline but still sets the variable.
    { IFS= read -r token || :; } <"$token_file"
  else
    token_problem="SANDBOX_TOKEN_FILE is not a readable file: $token_file"
  fi
  rm -f -- "$token_file" 2>/dev/null || :
  if [ -e "$token_file" ]; then
    say "warning: could not delete SANDBOX_TOKEN_FILE $token_file"
  fi
  if [ -n "${SANDBOX_TOKEN:-}" ]; then
    token_problem='set SANDBOX_TOKEN_FILE or SANDBOX_TOKEN, not both'
  fi
elif [ -n "${SANDBOX_TOKEN:-}" ]; then
  token=$SANDBOX_TOKEN
fi
unset SANDBOX_TOKEN SANDBOX_TOKEN_FILE

if [ -n "$token_problem" ]; then
  token=
  die 2 "$token_problem"
fi
if [ -z "$token" ]; then
  usage
  die 2 'no sandbox token: set SANDBOX_TOKEN_FILE or SANDBOX_TOKEN'
fi
case $token in
  *[!A-Za-z0-9._-]*)
    token=
    die 2 'the sandbox token is not a compact JWT (only A-Z a-z 0-9 . _ - are allowed)'
    ;;
esac

# --- 2. Arguments and configuration. ---------------------------------------------------------------------
if [ $# -ne 1 ]; then
  usage
  exit 2
fi
name=$1
case $name in
  '' | .* | *[!A-Za-z0-9._-]*) die 2 "invalid credential name: only A-Z a-z 0-9 . _ - are allowed, not first a dot" ;;
esac

broker_url=${BROKER_URL:-}
case $broker_url in
  http://?* | https://?*) ;;
  '') die 2 'BROKER_URL is not set' ;;
  *) die 2 "BROKER_URL must start with http:// or https://: $broker_url" ;;
esac
case $broker_url in
  *[[:space:]]* | *[\"\\]*) die 2 'BROKER_URL must not contain spaces, quotes or backslashes' ;;
esac
url="${broker_url%/}/v1/credentials/$name"

is_count() {
  case $1 in '' | *[!0-9]*) return 1 ;; esac
  [ "$1" -ge 1 ]
}
is_seconds() {
  case $1 in '' | *[!0-9.]* | *.*.* | .* | *.) return 1 ;; esac
  return 0
}

max_attempts=${BOOT_MAX_ATTEMPTS:-5}
backoff=${BOOT_BACKOFF_SECONDS:-1}
backoff_cap=${BOOT_BACKOFF_MAX_SECONDS:-30}
connect_timeout=${BOOT_CONNECT_TIMEOUT:-5}
max_time=${BOOT_MAX_TIME:-30}
is_count "$max_attempts" || die 2 "BOOT_MAX_ATTEMPTS must be a whole number >= 1: $max_attempts"
for _pair in "BOOT_BACKOFF_SECONDS=$backoff" "BOOT_BACKOFF_MAX_SECONDS=$backoff_cap" \
  "BOOT_CONNECT_TIMEOUT=$connect_timeout" "BOOT_MAX_TIME=$max_time"; do
  is_seconds "${_pair#*=}" || die 2 "${_pair%%=*} must be a number of seconds: ${_pair#*=}"
done

codex_bin=${CODEX_BIN:-codex}
# Check before fetching: a credential fetched for a Codex that is not there would be wasted.
case $codex_bin in
  # dash's `command -v` accepts any existing path, executable or not.
  */*) [ -f "$codex_bin" ] && [ -x "$codex_bin" ] ;;
  *) command -v "$codex_bin" >/dev/null 2>&1 ;;
esac || die 2 "CODEX_BIN not found or not executable: $codex_bin"
command -v curl >/dev/null 2>&1 || die 2 'curl not found'

# --- 3. Fetch, with retries on connection errors and 5xx. ------------------------------------------------
# One curl call per attempt. The body (the credential, or a JSON error) and a metadata line written by
# `-w` come back together in one command substitution, so the value never touches a file.
fetch() {
  response=$(
    printf 'header = "Authorization: Bearer %s"\n' "$token" |
      curl -q --silent --show-error --config - \
        --proto '=http,https' \
        --connect-timeout "$connect_timeout" --max-time "$max_time" \
        -X POST -H 'Content-Length: 0' -H 'Accept: text/plain' -A 'sandbox-boot/1' \
        -w '\n%{http_code}|%header{x-credential-kind}|%header{x-credential-version-id}|%header{x-issuance-id}|%header{x-request-id}|%{content_type}' \
        --url "$url"
  )
  curl_rc=$?
  meta=${response##*"$nl"}
  body=${response%"$nl"*}
  response=
  http_status=${meta%%|*}
  meta=${meta#*|}
  kind=${meta%%|*}
  meta=${meta#*|}
  version_id=${meta%%|*}
  meta=${meta#*|}
  issuance_id=${meta%%|*}
  meta=${meta#*|}
  request_id=${meta%%|*}
  content_type=${meta#*|}
}

# The broker's errors are one line of JSON: {"error":{"code":"...","message":"...","request_id":"..."}}.
error_code() {
  _code=$(printf '%s\n' "$body" | sed -n 's/.*"code"[[:space:]]*:[[:space:]]*"\([A-Za-z0-9_.-]*\)".*/\1/p')
  _code=${_code%%"$nl"*}
  printf '%s' "${_code:-unexpected_response}"
}

double_delay() {
  awk -v d="$1" -v c="$2" 'BEGIN { d = d * 2; if (d > c) d = c; if (d == int(d)) printf "%d", d; else printf "%g", d }'
}

attempt=1
delay=$backoff
while :; do
  fetch
  if [ "$curl_rc" -ne 0 ]; then
    case $curl_rc in
      1 | 2 | 3)
        token=
        body=
        die 2 "curl cannot use BROKER_URL (curl exit $curl_rc): $broker_url"
        ;;
    esac
    failure=connection_failed
    detail="connection error (curl exit $curl_rc)"
  else
    case $http_status in
      200)
        break
        ;;
      5??)
        failure="$(error_code) ($http_status)"
        detail=$failure
        ;;
      4??)
        token=
        _failure="$(error_code) ($http_status)"
        body=
        [ -n "$request_id" ] && say "request id $request_id"
        die 3 "$_failure"
        ;;
      *)
        token=
        body=
        [ -n "$request_id" ] && say "request id $request_id"
        die 6 "unexpected_response ($http_status)"
        ;;
    esac
  fi
  body=
  if [ "$attempt" -ge "$max_attempts" ]; then
    token=
    [ -n "$request_id" ] && say "request id $request_id"
    die 4 "$failure"
  fi
  say "attempt $attempt/$max_attempts failed: $detail; retrying in ${delay}s"
  sleep "$delay"
  delay=$(double_delay "$delay" "$backoff_cap")
  attempt=$((attempt + 1))
done
token=

# --- 4. Hand the credential to Codex. --------------------------------------------------------------------
value=${body%"$nl"}
body=
case $content_type in
  [Tt][Ee][Xx][Tt]/[Pp][Ll][Aa][Ii][Nn]*) ;;
  *)
    value=
    die 6 "unexpected_response ($http_status): Content-Type is not text/plain: $content_type"
    ;;
esac
case $value in
  '' | *"$nl"* | *"$cr"*)
    value=
    die 6 "unexpected_response ($http_status): the body is not one line holding a credential"
    ;;
esac
case $kind in
  codex_access_token) login_flag=--with-access-token ;;
  api_key) login_flag=--with-api-key ;;
  *)
    value=
    _kind=$(printf '%s' "$kind" | tr -cd 'A-Za-z0-9_.-')
    die 6 "unsupported_kind (${_kind:-none})"
    ;;
esac

# printf is a builtin: the value goes into the pipe without appearing on any command line.
printf '%s' "$value" | "$codex_bin" login "$login_flag" >&2
codex_rc=$?
value=
unset value
if [ "$codex_rc" -ne 0 ]; then
  die 5 "codex_login_failed (exit $codex_rc)"
fi

say "logged in to Codex with credential $name (kind $kind, version ${version_id:-unknown}, issuance ${issuance_id:-unknown})"
exit 0
