"""Databases, object storage, backups and restores of environments.

- ``naming``: database names, users and object-storage prefixes of an environment;
- ``data``: provisioning an environment's database, user and files prefix, the DB_* and
  S3_* variables of its Secret, and the objects Hangar applies for it;
- ``verify``: what makes a backup a backup (manifest, sizes and SHA-256 of every object,
  a complete dump with the database's tables, every file of the prefix);
- ``retention``: retention by reason (GFS for scheduled backups, a keep period for the
  others) and pruning;
- ``scrub``: verifying verified backups again, marking and alerting corrupt ones;
- ``jobs``: running backup.sh and restore.sh in Jobs and taking a verified backup;
- ``hooks``: what provisioning, deploys and destroying do about data;
- ``handlers``: the backup, restore, restore-check and password-rotation operations;
- ``services``: what people do (back up, restore, schedule, download), with permissions;
- ``imports``: importing the scheduled CronJob's backups, and alerts;
- ``tasks``: the periodic Celery tasks.

docs/backups.md says it all for people.
"""
