// Package archive defines the on-disk layout of a govaudit archive and the
// helpers that the auditparquet exporter (the writer) and the govaudit
// command (the reader) share: every path and file name, listing, the
// write-ahead log's framing, atomic writes, writing and reading data files,
// manifests, and the audit indexes used to skip files during a query. The
// writer keeps the policy (when to rotate, seal, deduplicate); this package
// says where and how bytes go.
//
// # Layout
//
// All paths below are relative to the archive root, slash-separated:
//
//	records/origin=<origin>/date=<YYYY-MM-DD>/<name>.parquet   sealed data files (read-only, 0444)
//	index/origin=<origin>/date=<YYYY-MM-DD>/<name>.json        audit index of each data file (derived)
//	checkpoints/<origin>/<epoch>/<size>                        every signed checkpoint (write-once)
//	checkpoints/<origin>/latest                                the newest checkpoint of origin (replaced atomically)
//	manifests/<origin>/<seq>                                   signed manifest of each seal (write-once; see Manifest)
//	wal/origin=<origin>/<name>.wal                             the writer's write-ahead log (not part of the archive)
//	wal/origin=<origin>/state.json                             the writer's state of origin (not part of the archive)
//	wal/origin=<origin>/uploaded.json                          the writer's upload progress to a bucket (not part of the archive)
//
// <origin> is a collector origin (see auditlog.ValidOrigin), <epoch> and
// <size> are canonical decimal numbers. A data file's <name> is the UTC time
// at which the writer opened the file (wrote its first row), formatted as
// 20060102T150405.000000000Z (see FileTimeFormat): fixed width, so names sort
// in write order, and unique per origin because a writer never reuses or goes
// back in time (it takes max(now, previous + 1ns)). <YYYY-MM-DD> is the UTC
// date of that same time, so the date partition says when the exporter wrote
// the rows, not when the events happened (use the start_time column for
// that). Archive order — the order in which rows were appended, per origin —
// is the lexicographic order of data file paths (see DataFiles).
//
// Data files hold record.Record rows in leaf order (the order the writer
// received them), leaves and checkpoint records interleaved. Files whose
// name starts with "." or "_" are temporary or private (a writer writes
// ".<name>.parquet.tmp" and renames it); query engines and DataFiles skip
// them.
//
// Checkpoint files hold the signed note text byte for byte, so any C2SP
// tlog-checkpoint tool can read them.
//
// Every file under records/, index/ and checkpoints/<origin>/<epoch>/ is
// listed, with its SHA-256 and size, by the signed manifest of the seal that
// wrote it; the manifests of an origin are chained (see Manifest). latest is
// not listed: it is replaced at every seal.
//
// # Indexes
//
// An Index (index/…/<name>.json) summarises one data file so that a query can
// skip it without opening it: time range, per-epoch leaf ranges and the
// subtree hashes of those leaves (which a prover merges instead of hashing
// the file's leaves), record types, models, and the user, session,
// conversation and trace ids (exact sets up to MaxExactIDs values, the count
// beyond: the data file's Parquet bloom filters answer, DataFile.MayContain).
// It also records the data file's size and SHA-256. Indexes are derived
// data: BuildIndex rebuilds one from its data file and Reindex rebuilds them
// all. Nothing trusts an index for integrity; a verifier reads the data files
// themselves.
package archive
