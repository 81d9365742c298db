#!/bin/sh
# Back up the Atlas Bulk Ops ledger into a folder: a consistent copy taken while dashboards and
# workers keep running. Reads the same settings they do:
#   ATLAS_DATABASE_URL=postgresql://...  -> pg_dump --format=custom  (atlas-<UTC time>.dump)
#   otherwise ATLAS_DB_PATH (data/atlas.db) -> sqlite3 .backup      (atlas-<UTC time>.db)
# Usage: deploy/backup/backup-ledger.sh /var/backups/atlas   (prints the file it wrote)
# Restore with deploy/backup/restore-ledger.sh; docs/deployment.md says when and how.
set -eu
dest=${1:?usage: backup-ledger.sh DESTINATION_FOLDER}
mkdir -p "$dest"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
umask 077  # the ledger holds every extracted field: only the backup's owner reads it
if [ -n "${ATLAS_DATABASE_URL:-}" ]; then
  out="$dest/atlas-$stamp.dump"
  # One snapshot of the whole database (pg_dump runs in a REPEATABLE READ transaction).
  pg_dump --format=custom --no-owner --no-privileges --file="$out.partial" --dbname="$ATLAS_DATABASE_URL"
else
  out="$dest/atlas-$stamp.db"
  # SQLite's online backup: a consistent copy even while a worker writes (WAL mode).
  sqlite3 "${ATLAS_DB_PATH:-data/atlas.db}" ".timeout 60000" ".backup '$out.partial'"
fi
mv "$out.partial" "$out"  # a half-written backup never looks like a finished one
echo "$out"
