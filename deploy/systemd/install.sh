#!/bin/sh
# Installs or upgrades authrelay as a systemd service, from a source tree where
# `npm ci && npm run build` has run (with the Node.js the service will use):
#
#   sudo deploy/systemd/install.sh
#
# What it does (see docs/deploy.md):
#   /opt/authrelay                  the compiled relay and its production dependencies
#                                   (the one before an upgrade is kept as /opt/authrelay.previous)
#   /etc/sysusers.d/authrelay.conf  the authrelay system user and group, created at once
#   /etc/systemd/system/authrelay.service
#   /usr/local/bin/authrelay        the command line, run as the authrelay user
#   /etc/authrelay/authrelay.yaml   an example configuration, only if there is none
#   /etc/authrelay/authrelay.env    an empty secrets file, only if there is none
#   /var/lib/authrelay              the queue (owned by authrelay)
# It neither starts nor restarts the service: it prints what to run.
#
# Options:
#   --root DIR   install into DIR instead of / (an image being prepared, a test);
#                systemctl is not run and only DIR's own files are changed
#   --node PATH  the Node.js (20 or later) the service runs; default /usr/bin/node,
#                else `command -v node`. Another path than /usr/bin/node gets a
#                drop-in, /etc/systemd/system/authrelay.service.d/node.conf
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
root=
node=

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || die "--root needs a directory"; root=$(cd "$2" && pwd) || die "no directory $2"; shift 2 ;;
    --node) [ $# -ge 2 ] || die "--node needs a path"; node=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[ "$root" = / ] && root=

as_root=no
[ "$(id -u)" = 0 ] && as_root=yes
[ -n "$root" ] || [ $as_root = yes ] || die "run it as root (sudo $0), or with --root DIR"

# ---- what is installed must be there and work
if [ -z "$node" ]; then
  if [ -x /usr/bin/node ]; then node=/usr/bin/node; else node=$(command -v node || true); fi
fi
if [ -z "$node" ] || [ ! -x "$node" ]; then
  die "Node.js not found: install Node.js 20 or later (docs/deploy.md), or name it with --node PATH"
fi
case $node in /*) ;; *) die "--node needs an absolute path, not $node" ;; esac
case $node in
  /home/* | /root/* | /run/user/*) die "$node is in a home directory, which the service cannot see (ProtectHome=yes); install Node.js system-wide" ;;
esac
"$node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  die "$node is Node.js $("$node" --version); authrelay needs 20 or later"
[ -f "$src/dist/src/cli/main.js" ] || die "$src/dist is missing: run 'npm ci && npm run build' in $src first"
[ -d "$src/node_modules/better-sqlite3" ] || die "$src/node_modules is missing: run 'npm ci && npm run build' in $src first"

owner() { # chown when it can: a test with --root may not run as root
  if [ $as_root = yes ]; then chown "$@"; fi
}

# ---- the program: staged beside the old one, then swapped
opt="$root/opt/authrelay"
stage="$opt.new"
echo "install.sh: staging $stage"
rm -rf "$stage"
mkdir -p "$stage/dist" "$stage/src/admin/console"
cp "$src/package.json" "$src/package-lock.json" "$stage/"
cp -R "$src/dist/src" "$stage/dist/src"
cp -R "$src/src/admin/console/static" "$src/src/admin/console/i18n" "$stage/src/admin/console/"
cp -R "$src/docs" "$stage/docs"
cp -R "$src/node_modules" "$stage/node_modules"
(cd "$stage" && PATH="$(dirname "$node"):$PATH" npm prune --omit=dev --no-audit --no-fund --loglevel=error) ||
  die "npm prune --omit=dev failed in $stage"
"$node" "$stage/dist/src/cli/main.js" --help >/dev/null || die "the staged relay does not start: $node $stage/dist/src/cli/main.js --help"
owner -R 0:0 "$stage"
chmod -R u+rwX,go+rX,go-w "$stage"
if [ -d "$opt" ]; then
  rm -rf "$opt.previous"
  mv "$opt" "$opt.previous"
  echo "install.sh: the previous version is in $opt.previous"
fi
mv "$stage" "$opt"

# ---- the account
install -D -m 0644 "$here/authrelay.sysusers" "$root/etc/sysusers.d/authrelay.conf"
command -v systemd-sysusers >/dev/null || die "systemd-sysusers not found: this needs a system run by systemd"
if [ -n "$root" ]; then
  mkdir -p "$root/etc"
  systemd-sysusers --root="$root" "$root/etc/sysusers.d/authrelay.conf"
else
  systemd-sysusers /etc/sysusers.d/authrelay.conf
fi
uid=$(awk -F: '$1 == "authrelay" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "authrelay" { print $3 }' "$root/etc/group")
if [ -z "$uid" ] || [ -z "$gid" ]; then
  die "the authrelay user was not created in $root/etc/passwd"
fi

# ---- configuration, secrets, queue: made once, never overwritten
install -d -m 0770 "$root/etc/authrelay"
owner "0:$gid" "$root/etc/authrelay"
if [ -e "$root/etc/authrelay/authrelay.yaml" ]; then
  echo "install.sh: keeping $root/etc/authrelay/authrelay.yaml"
else
  install -m 0640 "$here/authrelay.yaml" "$root/etc/authrelay/authrelay.yaml"
  owner "$uid:$gid" "$root/etc/authrelay/authrelay.yaml"
  echo "install.sh: wrote the example configuration $root/etc/authrelay/authrelay.yaml"
fi
if [ ! -e "$root/etc/authrelay/authrelay.env" ]; then
  # shellcheck disable=SC2016 # ${NAME} is written as it is
  printf '# Secrets named ${NAME} in authrelay.yaml, one NAME=value a line, e.g.\n# M365_SECRET=...\n' > "$root/etc/authrelay/authrelay.env"
  chmod 0640 "$root/etc/authrelay/authrelay.env"
  owner "0:$gid" "$root/etc/authrelay/authrelay.env"
fi
install -d -m 0750 "$root/var/lib/authrelay"
owner "$uid:$gid" "$root/var/lib/authrelay"

# ---- the unit and the command
install -D -m 0644 "$here/authrelay.service" "$root/etc/systemd/system/authrelay.service"
dropin="$root/etc/systemd/system/authrelay.service.d/node.conf"
if [ "$node" != /usr/bin/node ]; then
  mkdir -p "$(dirname "$dropin")"
  printf '# Written by install.sh: Node.js is not /usr/bin/node on this host.\n[Service]\nExecStart=\nExecStart=%s /opt/authrelay/dist/src/cli/main.js serve -c /etc/authrelay/authrelay.yaml\n' "$node" > "$dropin"
  echo "install.sh: $dropin runs $node"
else
  rm -f "$dropin"
fi
install -D -m 0755 "$here/authrelay" "$root/usr/local/bin/authrelay"
if [ "$node" != /usr/bin/node ]; then
  sed -i "s#^node=\${AUTHRELAY_NODE:-/usr/bin/node}#node=\${AUTHRELAY_NODE:-$node}#" "$root/usr/local/bin/authrelay"
fi

# ---- the configuration as the service will read it
if AUTHRELAY_HOME="$opt" AUTHRELAY_NODE="$node" AUTHRELAY_CONFIG="$root/etc/authrelay/authrelay.yaml" \
  AUTHRELAY_ENV_FILE="$root/etc/authrelay/authrelay.env" "$root/usr/local/bin/authrelay" config check; then
  config_ok=yes
else
  config_ok=no
  echo "install.sh: fix $root/etc/authrelay/authrelay.yaml before starting the service (see above)" >&2
fi

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  if systemctl is-active --quiet authrelay; then
    echo "install.sh: installed. Run 'systemctl restart authrelay' to switch to this version."
  else
    echo "install.sh: installed. Edit /etc/authrelay/authrelay.yaml, then: systemctl enable --now authrelay"
  fi
else
  echo "install.sh: installed into ${root:-/}."
fi
[ $config_ok = yes ]
