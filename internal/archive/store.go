package archive

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/govaudit/govaudit/internal/objectstore"
)

// An archive root is either a local directory or a bucket,
// s3://<bucket>[/<prefix>], where the auditparquet exporter uploads its
// sealed files under the same layout. The readers (ReadRegular and the
// functions built on it, DataFiles, CheckpointFiles, ManifestFiles,
// CoveredFiles, CheckpointOrigins, ReadPending) take either; writers
// (WriteIndex, Reindex, WriteManifest, SignUnlisted, Lock) need a local
// directory.
//
// A bucket under Object Lock is versioned: a PUT over an archived key adds a
// newer version, and a DELETE without a version id adds a delete marker,
// while the version the exporter wrote stays, retained, underneath. So a
// reader of a bucket reads, of each key, its oldest version (the one the
// exporter wrote once and Object Lock retains), ignoring delete markers and
// later versions; except each origin's latest pointer, which the exporter
// replaces at every seal, read at its newest version. Reading a bucket needs
// s3:ListBucketVersions and s3:GetObjectVersion.

// A Store holds the files of an archive that is not a local directory.
type Store interface {
	// List returns the path (relative to the archive root) of every file
	// under dir, whatever its name, sorted.
	List(dir string) ([]string, error)
	// Read returns the bytes of the file at rel, a slash path relative to
	// the root, refusing a file of more than max bytes (ErrTooLarge) before
	// reading it. A missing file is an error wrapping fs.ErrNotExist.
	Read(rel string, max int64) ([]byte, error)
	// OpenAt opens the same file as Read, for reading at offsets (a data
	// file's footer, bloom filters and the chunks of the columns a reader
	// needs), with the same path rules and cap; its size is the one the
	// store lists, and every read is bounded by it.
	OpenAt(rel string, max int64) (FileAt, error)
	// Exists reports whether anything is stored under dir.
	Exists(dir string) (bool, error)
}

// IsRemote reports whether root is a bucket (s3://…), not a local
// directory.
func IsRemote(root string) bool { return objectstore.IsURL(root) }

// errRemoteWrite is returned by the writers for a bucket root.
var errRemoteWrite = errors.New("an archive in a bucket is written only by the auditparquet exporter; this needs a local directory")

// stores caches one Store per bucket root: configuring an S3 client reads
// the AWS configuration files, once per run.
var stores sync.Map // root and environment -> Store

// StoreOf returns the Store of a bucket root, created on first use from the
// standard AWS chain and GOVAUDIT_S3_PATH_STYLE (see objectstore).
func StoreOf(root string) (Store, error) {
	// The variables the client depends on are part of the key, so that a
	// process (a test) that changes them gets a new client.
	key := strings.Join([]string{root, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"), os.Getenv(objectstore.PathStyleEnv)}, "\x00")
	if s, ok := stores.Load(key); ok {
		return s.(Store), nil
	}
	loc, err := objectstore.ParseURL(root)
	if err != nil {
		return nil, err
	}
	opts, err := objectstore.OptionsFromEnv()
	if err != nil {
		return nil, err
	}
	c, err := objectstore.New(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	s, _ := stores.LoadOrStore(key, &s3Store{loc: loc, c: c})
	return s.(Store), nil
}

// CheckRoot returns an error unless root is an existing directory or a
// well-formed bucket URL whose client can be configured. It does not say
// whether an archive is there (see HasArchive).
func CheckRoot(root string) error {
	if IsRemote(root) {
		_, err := StoreOf(root)
		return err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", root)
	}
	return nil
}

// CheckpointOrigins returns the names under checkpoints/ that may be
// origins: the subdirectories of a local archive (a symbolic link in place
// of one is not followed: CheckpointFiles lists it and readers refuse it),
// or the first path elements below checkpoints/ in a bucket. Sorted.
func CheckpointOrigins(root string) ([]string, error) {
	var out []string
	if IsRemote(root) {
		s, err := StoreOf(root)
		if err != nil {
			return nil, err
		}
		all, err := s.List(CheckpointsDir)
		if err != nil {
			return nil, err
		}
		for _, p := range all {
			parts := strings.Split(p, "/")
			if len(parts) > 2 && (len(out) == 0 || out[len(out)-1] != parts[1]) {
				out = append(out, parts[1])
			}
		}
		sort.Strings(out)
		return slices.Compact(out), nil
	}
	ents, err := os.ReadDir(filepath.Join(root, CheckpointsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// listRemote is listFiles for a bucket root: the same filter on the listed
// paths. Paths under a hidden or private element ("." or "_" prefix) are
// skipped; with ext, a path is listed if it ends in ext, and a path with an
// inner element ending in ext (a "directory named like a data file") is
// listed up to that element, so that a reader reports it as missing
// instead of silently skipping what should be a file.
func listRemote(root, dir, ext string) ([]string, error) {
	s, err := StoreOf(root)
	if err != nil {
		return nil, err
	}
	all, err := s.List(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range all {
		rest, ok := strings.CutPrefix(p, dir+"/")
		if !ok {
			continue
		}
		els := strings.Split(rest, "/")
		hidden := false
		for _, el := range els {
			if strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") {
				hidden = true
			}
		}
		if hidden {
			continue
		}
		if ext == "" {
			out = append(out, p)
			continue
		}
		for i, el := range els {
			if strings.HasSuffix(el, ext) {
				out = append(out, dir+"/"+strings.Join(els[:i+1], "/"))
				break
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// s3Store reads an archive under a bucket prefix.
type s3Store struct {
	loc objectstore.Location
	c   *objectstore.Client
}

func (s *s3Store) List(dir string) ([]string, error) {
	var out []string
	err := s.c.ListVersions(context.Background(), s.loc.Bucket, s.loc.Key(dir)+"/", func(v objectstore.Version) error {
		rel, ok := s.loc.Rel(v.Key)
		if ok && !strings.HasSuffix(rel, "/") && (len(out) == 0 || out[len(out)-1] != rel) {
			out = append(out, rel) // a key's versions are listed together
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

func (s *s3Store) Exists(dir string) (bool, error) {
	return s.c.Any(context.Background(), s.loc.Bucket, s.loc.Key(dir)+"/")
}

// pick returns the key and the version of rel that the package doc says:
// the oldest, or the newest for a latest pointer; refusing a path outside
// the archive and a version of more than max bytes.
func (s *s3Store) pick(rel string, max int64) (string, objectstore.Version, error) {
	if !fs.ValidPath(rel) || rel == "." || strings.Contains(rel, `\`) {
		return "", objectstore.Version{}, fmt.Errorf("%q: not a path inside the archive", rel)
	}
	key := s.loc.Key(rel)
	latest := path.Base(rel) == LatestName && strings.HasPrefix(rel, CheckpointsDir+"/") && strings.Count(rel, "/") == 2
	var pick *objectstore.Version
	err := s.c.ListVersions(context.Background(), s.loc.Bucket, key, func(v objectstore.Version) error {
		if v.Key != key || latest && pick != nil {
			return nil
		}
		pick = &v // newest first: the last one seen is the oldest
		return nil
	})
	if err != nil {
		return "", objectstore.Version{}, err
	}
	if pick == nil {
		return "", objectstore.Version{}, fmt.Errorf("%s: %w", s.loc.String()+"/"+rel, fs.ErrNotExist)
	}
	if pick.Size < 0 || pick.Size > max {
		return "", objectstore.Version{}, fmt.Errorf("%s: %w: %d bytes, at most %d accepted", s.loc.String()+"/"+rel, ErrTooLarge, pick.Size, max)
	}
	if pick.VersionID == "null" {
		pick.VersionID = "" // an unversioned bucket
	}
	return key, *pick, nil
}

// Read reads the version of rel that pick picks, whole.
func (s *s3Store) Read(rel string, max int64) ([]byte, error) {
	key, v, err := s.pick(rel, max)
	if err != nil {
		return nil, err
	}
	b, err := s.c.Get(context.Background(), s.loc.Bucket, key, v.VersionID, max)
	if errors.Is(err, objectstore.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return b, err
}

// HasArchive reports whether root holds an archive: a records/,
// checkpoints/ or wal/ directory, or for a bucket any object under
// records/, checkpoints/ or manifests/ (the write-ahead log is never
// uploaded).
func HasArchive(root string) (bool, error) {
	if !IsRemote(root) {
		for _, d := range []string{RecordsDir, CheckpointsDir, WALDir} {
			if fi, err := os.Stat(filepath.Join(root, d)); err == nil && fi.IsDir() {
				return true, nil
			}
		}
		return false, nil
	}
	s, err := StoreOf(root)
	if err != nil {
		return false, err
	}
	for _, d := range []string{RecordsDir, CheckpointsDir, ManifestsDir} {
		ok, err := s.Exists(d)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
