#!/bin/sh
# Restore a backup made by backup-ledger.sh into an EMPTY ledger location, then point every
# dashboard and worker at it. Stop them first (systemctl stop 'atlas-worker@*' and the replicas).
#   ATLAS_DATABASE_URL=postgresql://.../atlas_restored  (an empty database: createdb it first)
#   otherwise ATLAS_DB_PATH (a file that must not exist yet)
# Usage: deploy/backup/restore-ledger.sh /var/backups/atlas/atlas-20261202T080000Z.dump
set -eu
backup=${1:?usage: restore-ledger.sh BACKUP_FILE}
[ -f "$backup" ] || { echo "No backup file at $backup." >&2; exit 2; }
if [ -n "${ATLAS_DATABASE_URL:-}" ]; then
  # --single-transaction: a restore that fails half-way leaves the database empty, not half full.
  pg_restore --no-owner --no-privileges --single-transaction --exit-on-error \
    --dbname="$ATLAS_DATABASE_URL" "$backup"
else
  target=${ATLAS_DB_PATH:-data/atlas.db}
  if [ -e "$target" ]; then
    echo "$target already exists: move it aside first (the restore never overwrites a ledger)." >&2
    exit 2
  fi
  cp "$backup" "$target.partial"
  sqlite3 "$target.partial" "PRAGMA integrity_check;" | grep -qx ok \
    || { rm -f "$target.partial"; echo "$backup is damaged: nothing restored." >&2; exit 1; }
  mv "$target.partial" "$target"
fi
echo "restored $backup"
