package archive

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/govaudit/govaudit/internal/auditlog"
)

// Top-level directories of an archive root.
const (
	RecordsDir     = "records"
	IndexDir       = "index"
	CheckpointsDir = "checkpoints"
	WALDir         = "wal"
	ManifestsDir   = "manifests"
)

// File name parts.
const (
	DataExt    = ".parquet"
	IndexExt   = ".json"
	WALExt     = ".wal"
	TempSuffix = ".tmp"
	LatestName = "latest"
	// StateName is the writer's state file of an origin (see StatePath).
	StateName = "state.json"
	// UploadMarkerName is the writer's upload progress file of an origin
	// (see UploadMarkerPath).
	UploadMarkerName = "uploaded.json"
)

// FileTimeFormat is the layout of a data file's name (without extension): the
// UTC time the file was opened, fixed width so that names sort in time order.
const FileTimeFormat = "20060102T150405.000000000Z"

// DateFormat is the layout of the date=<YYYY-MM-DD> partition value.
const DateFormat = "2006-01-02"

// FileName returns the base name (without extension) of the data file opened at t.
func FileName(t time.Time) string { return t.UTC().Format(FileTimeFormat) }

// PartitionDir returns records/origin=<origin>/date=<YYYY-MM-DD> for a file opened at t.
func PartitionDir(origin string, t time.Time) string {
	return path.Join(RecordsDir, "origin="+origin, "date="+t.UTC().Format(DateFormat))
}

// DataPath returns the path of the data file of origin opened at t.
func DataPath(origin string, t time.Time) string {
	return path.Join(PartitionDir(origin, t), FileName(t)+DataExt)
}

// IndexPath returns the path of the audit index of the data file at dataPath:
// the same partitions and name under index/, with extension .json.
func IndexPath(dataPath string) string {
	rest := strings.TrimPrefix(dataPath, RecordsDir+"/")
	return path.Join(IndexDir, strings.TrimSuffix(rest, DataExt)+IndexExt)
}

// TempPath returns the temporary name under which p is written before it is
// renamed into place: ".<base>.tmp" in the same directory, so that it is
// hidden from query engines and the rename is atomic.
func TempPath(p string) string {
	dir, base := path.Split(p)
	return dir + "." + base + TempSuffix
}

// WALPath returns the path of the write-ahead log segment that becomes the
// data file DataPath(origin, t) when sealed.
func WALPath(origin string, t time.Time) string {
	return path.Join(WALDir, "origin="+origin, FileName(t)+WALExt)
}

// ParseWALPath parses a path made by WALPath, returning its origin and
// time. It rejects any other shape and non-canonical names.
func ParseWALPath(p string) (origin string, t time.Time, err error) {
	parts := strings.Split(p, "/")
	if len(parts) != 3 || parts[0] != WALDir || !strings.HasPrefix(parts[1], "origin=") || !strings.HasSuffix(parts[2], WALExt) {
		return "", time.Time{}, fmt.Errorf("write-ahead log segment %q: want %s/origin=<origin>/<name>%s", p, WALDir, WALExt)
	}
	origin = strings.TrimPrefix(parts[1], "origin=")
	if err := auditlog.ValidOrigin(origin); err != nil {
		return "", time.Time{}, fmt.Errorf("write-ahead log segment %q: %w", p, err)
	}
	name := strings.TrimSuffix(parts[2], WALExt)
	t, err = time.Parse(FileTimeFormat, name)
	if err != nil || FileName(t) != name {
		return "", time.Time{}, fmt.Errorf("write-ahead log segment %q: name %q is not a %s time", p, name, FileTimeFormat)
	}
	return origin, t, nil
}

// StatePath returns wal/origin=<origin>/state.json, where the writer keeps
// what the archive of origin already holds (its own format; not part of
// the archive).
func StatePath(origin string) string {
	return path.Join(WALDir, "origin="+origin, StateName)
}

// UploadMarkerPath returns wal/origin=<origin>/uploaded.json, where the
// writer records how far it uploaded origin's sealed files to a bucket (its
// own format; not part of the archive).
func UploadMarkerPath(origin string) string {
	return path.Join(WALDir, "origin="+origin, UploadMarkerName)
}

// CheckpointPath returns checkpoints/<origin>/<epoch>/<size>.
func CheckpointPath(origin string, epoch, size uint64) string {
	return path.Join(CheckpointsDir, origin, strconv.FormatUint(epoch, 10), strconv.FormatUint(size, 10))
}

// LatestPath returns checkpoints/<origin>/latest.
func LatestPath(origin string) string {
	return path.Join(CheckpointsDir, origin, LatestName)
}

// ManifestPath returns manifests/<origin>/<seq>, the signed manifest
// number seq of origin (see Manifest).
func ManifestPath(origin string, seq uint64) string {
	return path.Join(ManifestsDir, origin, strconv.FormatUint(seq, 10))
}

// ParseManifestPath parses a path made by ManifestPath.
func ParseManifestPath(p string) (origin string, seq uint64, err error) {
	parts := strings.Split(p, "/")
	if len(parts) != 3 || parts[0] != ManifestsDir {
		return "", 0, fmt.Errorf("manifest file %q: want %s/<origin>/<seq>", p, ManifestsDir)
	}
	if err := auditlog.ValidOrigin(parts[1]); err != nil {
		return "", 0, fmt.Errorf("manifest file %q: %w", p, err)
	}
	seq, err = parseCanonical(parts[2])
	if err != nil {
		return "", 0, fmt.Errorf("manifest file %q: seq must be a canonical decimal number", p)
	}
	return parts[1], seq, nil
}

// ParseDataPath parses a data file path made by DataPath, returning its
// origin and open time. It rejects any other shape, a date partition that
// disagrees with the name, and non-canonical names.
func ParseDataPath(p string) (origin string, t time.Time, err error) {
	parts := strings.Split(p, "/")
	if len(parts) != 4 || parts[0] != RecordsDir || !strings.HasPrefix(parts[1], "origin=") ||
		!strings.HasPrefix(parts[2], "date=") || !strings.HasSuffix(parts[3], DataExt) {
		return "", time.Time{}, fmt.Errorf("data file %q: want %s/origin=<origin>/date=<YYYY-MM-DD>/<name>%s", p, RecordsDir, DataExt)
	}
	origin = strings.TrimPrefix(parts[1], "origin=")
	if err := auditlog.ValidOrigin(origin); err != nil {
		return "", time.Time{}, fmt.Errorf("data file %q: %w", p, err)
	}
	name := strings.TrimSuffix(parts[3], DataExt)
	t, err = time.Parse(FileTimeFormat, name)
	if err != nil || FileName(t) != name {
		return "", time.Time{}, fmt.Errorf("data file %q: name %q is not a %s time", p, name, FileTimeFormat)
	}
	if d := strings.TrimPrefix(parts[2], "date="); d != t.Format(DateFormat) {
		return "", time.Time{}, fmt.Errorf("data file %q: date partition %q disagrees with the name's date %s", p, d, t.Format(DateFormat))
	}
	return origin, t, nil
}

// ParseCheckpointPath parses a path made by CheckpointPath.
func ParseCheckpointPath(p string) (origin string, epoch, size uint64, err error) {
	parts := strings.Split(p, "/")
	if len(parts) != 4 || parts[0] != CheckpointsDir {
		return "", 0, 0, fmt.Errorf("checkpoint file %q: want %s/<origin>/<epoch>/<size>", p, CheckpointsDir)
	}
	if err := auditlog.ValidOrigin(parts[1]); err != nil {
		return "", 0, 0, fmt.Errorf("checkpoint file %q: %w", p, err)
	}
	epoch, err1 := parseCanonical(parts[2])
	size, err2 := parseCanonical(parts[3])
	if err1 != nil || err2 != nil {
		return "", 0, 0, fmt.Errorf("checkpoint file %q: epoch and size must be canonical decimal numbers", p)
	}
	return parts[1], epoch, size, nil
}

func parseCanonical(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != s {
		return 0, fmt.Errorf("%q is not a canonical decimal number", s)
	}
	return n, nil
}
