-- Alerts, keyed by their deterministic id: a growing incident is written
-- again with the same id and replaces its earlier version.
CREATE TABLE alerts (
	id             TEXT PRIMARY KEY,
	subscription   TEXT NOT NULL DEFAULT '',
	type           TEXT NOT NULL,
	layer          TEXT NOT NULL DEFAULT '',
	severity       TEXT NOT NULL DEFAULT '',
	resource       TEXT NOT NULL DEFAULT '',
	principal      TEXT NOT NULL DEFAULT '',
	start_ns       INTEGER NOT NULL,
	end_ns         INTEGER NOT NULL,
	status         TEXT NOT NULL DEFAULT 'active',
	status_comment TEXT NOT NULL DEFAULT '',
	created_ns     INTEGER NOT NULL,
	updated_ns     INTEGER NOT NULL,
	body           TEXT NOT NULL
) STRICT;
CREATE INDEX alerts_page ON alerts (start_ns DESC, id DESC);
CREATE INDEX alerts_subscription ON alerts (subscription, start_ns DESC);

-- Every status change of an alert, in order.
CREATE TABLE alert_history (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	alert_id TEXT NOT NULL REFERENCES alerts (id),
	time_ns  INTEGER NOT NULL,
	actor    TEXT NOT NULL,
	status   TEXT NOT NULL,
	comment  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX alert_history_alert ON alert_history (alert_id, seq);

-- Learned state (baselines, profiles), one blob per name.
CREATE TABLE state (
	name          TEXT PRIMARY KEY,
	data          BLOB NOT NULL,
	checkpoint_ns INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
	subscription TEXT PRIMARY KEY,
	body         TEXT NOT NULL
) STRICT;

CREATE TABLE suppressions (
	id         TEXT PRIMARY KEY,
	created_ns INTEGER NOT NULL,
	body       TEXT NOT NULL
) STRICT;

-- Tokens are kept only as the SHA-256 of the secret.
CREATE TABLE tokens (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL DEFAULT '',
	hash          BLOB NOT NULL UNIQUE,
	role          TEXT NOT NULL,
	subscriptions TEXT NOT NULL,
	created_ns    INTEGER NOT NULL,
	revoked_ns    INTEGER
) STRICT;

-- How far each watched file has been read.
CREATE TABLE ingest_progress (
	path       TEXT PRIMARY KEY,
	identity   TEXT NOT NULL,
	offset     INTEGER NOT NULL,
	record     INTEGER NOT NULL,
	updated_ns INTEGER NOT NULL
) STRICT;

-- The health of each input: when it last delivered, and known gaps.
CREATE TABLE ingest_sources (
	source       TEXT PRIMARY KEY,
	kind         TEXT NOT NULL DEFAULT '',
	last_seen_ns INTEGER NOT NULL,
	records      INTEGER NOT NULL DEFAULT 0,
	errors       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE ingest_gaps (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	source  TEXT NOT NULL,
	from_ns INTEGER NOT NULL,
	to_ns   INTEGER NOT NULL,
	reason  TEXT NOT NULL
) STRICT;
