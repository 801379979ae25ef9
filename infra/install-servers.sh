#!/usr/bin/env bash
# Installs the PostgreSQL 15 and MariaDB server binaries that `tandem stack up` runs privately,
# when they are missing and apt-get exists. Idempotent; never starts or alters system services.
set -euo pipefail

PG_BIN="${TANDEM_PG_BINDIR:-/usr/lib/postgresql/15/bin}"
packages=()

if [[ -x "$PG_BIN/postgres" && -x "$PG_BIN/initdb" ]]; then
    echo "install-servers: PostgreSQL server found in $PG_BIN"
else
    packages+=(postgresql-15)
fi

if { command -v mariadbd || [[ -x /usr/sbin/mariadbd ]]; } >/dev/null 2>&1 \
    && { command -v mariadb-install-db || [[ -x /usr/bin/mariadb-install-db ]]; } >/dev/null 2>&1
then
    echo "install-servers: MariaDB server found"
else
    packages+=(mariadb-server)
fi

if [[ ${#packages[@]} -eq 0 ]]; then
    echo "install-servers: nothing to install"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-servers: missing ${packages[*]} and no apt-get here: install them with your" \
        "package manager (PostgreSQL 15 server, MariaDB 10.6+ server)" >&2
    exit 2
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "install-servers: need root (or sudo) to install ${packages[*]}" >&2
        exit 2
    fi
fi

# policy-rc.d exit code 101 tells invoke-rc.d not to start (or restart) any service during the
# install; an existing file is left alone and restored afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod 755 "$policy"
    own_policy=1
fi
cleanup() { if [[ $own_policy -eq 1 ]]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install-servers: apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
echo "install-servers: installing ${packages[*]} (services are not started)"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${packages[@]}"
echo "install-servers: installed ${packages[*]}"
