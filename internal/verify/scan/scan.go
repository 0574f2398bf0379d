// Package scan reads a govaudit archive for internal/verify: it lists and
// reads every file a verifier looks at (data files hashed and decoded in
// parallel, checkpoint files, latest pointers, indexes and other covered
// files hashed, signed manifests) and feeds them to a verify.Checker, which
// does no I/O. Reading is bounded and never follows a symbolic link or
// blocks on a special file (archive.ReadRegular): a hostile file is a
// finding, never a hang.
package scan

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/verify"
)

// Archive feeds checker what verify checks: every data file (in archive
// order, hashed and decoded on GOMAXPROCS workers, at most that many in
// memory at once), every checkpoint file, every origin's latest pointer,
// every other file under records/, index/ and checkpoints/ (hashed), and
// every signed manifest.
// visit, if not nil, also sees each decoded data file. Unreadable data
// and checkpoint files (a FIFO, device, symlink, directory or oversized or
// corrupt file in their place) are not an I/O error but a finding
// (File.Err naming the path); a missing archive directory is.
func Archive(root string, checker *verify.Checker, progress func(done, total int), visit func(verify.File)) error {
	if err := archive.CheckRoot(root); err != nil {
		return err
	}
	scope := checker.Scope()
	files, err := archive.DataFiles(root)
	if err != nil {
		return err
	}
	files = inScope(files, scope)
	if err := Decoded(root, files, runtime.GOMAXPROCS(0), func(i int, f verify.File) {
		checker.AddFile(f)
		if visit != nil {
			visit(f)
		}
		if progress != nil {
			progress(i+1, len(files))
		}
	}); err != nil {
		return err
	}
	cps, err := archive.CheckpointFiles(root)
	if err != nil {
		return err
	}
	cps = inScope(cps, scope)
	for _, p := range cps {
		b, err := archive.ReadCheckpointFile(root, p)
		if err != nil {
			// A FIFO, device, symlink or oversized file where a checkpoint
			// should be: a finding naming the path, never a hang.
			checker.AddFile(verify.File{Path: p, Err: fmt.Errorf("checkpoint file: %w", err)})
			continue
		}
		d := archive.DigestOf(p, b)
		cf := verify.CheckpointFile{Path: p, Text: string(b), Digest: &d}
		if cf.Origin, cf.Epoch, cf.Size, err = archive.ParseCheckpointPath(p); err != nil {
			cf.Origin = "?" // reported as misfiled: the path says nothing usable
		}
		checker.AddCheckpointFile(cf)
	}
	// A symlink in place of an origin directory is not an origin: it is
	// listed by CheckpointFiles and refused.
	origins, err := archive.CheckpointOrigins(root)
	if err != nil {
		return err
	}
	for _, origin := range origins {
		if !scope.HasOrigin(origin) {
			continue
		}
		p := archive.LatestPath(origin)
		b, err := archive.ReadCheckpointFile(root, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // reported by verify as missing_latest if the origin has checkpoints
		}
		if err != nil {
			checker.AddFile(verify.File{Path: p, Err: fmt.Errorf("latest checkpoint: %w", err)})
			continue
		}
		checker.AddLatest(verify.LatestFile{Path: p, Origin: origin, Text: string(b)})
	}
	return digests(root, checker, files, cps)
}

// digests feeds checker the files that only a manifest vouches for
// (indexes, and anything else under records/, index/ and checkpoints/
// besides the data and checkpoint files already read), each hashed, and
// every file under manifests/.
func digests(root string, checker *verify.Checker, read ...[]string) error {
	seen := map[string]bool{}
	for _, ps := range read {
		for _, p := range ps {
			seen[p] = true
		}
	}
	covered, err := archive.CoveredFiles(root)
	if err != nil {
		return err
	}
	covered = inScope(covered, checker.Scope())
	for _, p := range covered {
		if seen[p] {
			continue
		}
		max := int64(archive.MaxCheckpointFileSize)
		switch {
		case strings.HasPrefix(p, archive.RecordsDir+"/"):
			max = archive.MaxDataFileSize
		case strings.HasPrefix(p, archive.IndexDir+"/"):
			max = archive.MaxIndexFileSize
		}
		f := verify.CoveredFile{Path: p}
		if b, err := archive.ReadRegular(root, p, max); err != nil {
			f.Err = err
		} else {
			d := archive.DigestOf(p, b)
			f.Digest = &d
		}
		checker.AddCoveredFile(f)
	}
	manifests, err := archive.ManifestFiles(root)
	if err != nil {
		return err
	}
	manifests = inScope(manifests, checker.Scope())
	for _, p := range manifests {
		b, err := archive.ReadManifestFile(root, p)
		checker.AddManifest(verify.ManifestFile{Path: p, Data: b, Err: err})
	}
	return nil
}

// Decoded reads, hashes and decodes the data files on `workers`
// goroutines and calls visit with each, in order. At most `workers` decoded
// files wait for visit at any time, which bounds memory by the file size. A
// file that cannot be read or decoded reaches visit with File.Err set; the
// error result is nil (kept for callers that stop early).
func Decoded(root string, files []string, workers int, visit func(i int, f verify.File)) error {
	results := make([]chan verify.File, len(files))
	for i := range results {
		results[i] = make(chan verify.File, 1)
	}
	slots := make(chan struct{}, max(workers, 1))
	go func() {
		for i, p := range files {
			slots <- struct{}{}
			go func() {
				// Reading refuses what is not a regular file inside the
				// archive and decoding bounds what the file claims, so a
				// hostile file is a finding (File.Err), never a hang or an
				// out-of-memory crash.
				f := verify.File{Path: p}
				data, err := archive.ReadDataFile(root, p)
				if err != nil {
					f.Err = err
				} else {
					// The digest of the very bytes decoded: verify compares
					// it with the signed manifest, never re-encodes.
					d := archive.DigestOf(p, data)
					f.Digest = &d
					f.Rows, f.Err = archive.DecodeFile(p, data)
				}
				results[i] <- f
			}()
		}
	}()
	for i := range files {
		f := <-results[i]
		<-slots
		visit(i, f)
	}
	return nil
}

// inScope keeps the paths of the origins in scope (all of them for a scope
// without origins). A path whose origin cannot be told (a stray file under
// records/, a misnamed manifest) belongs to no origin: an origin-limited run
// does not read it (docs/verification.md says so).
func inScope(paths []string, scope verify.Scope) []string {
	if len(scope.Origins) == 0 {
		return paths
	}
	var out []string
	for _, p := range paths {
		if o, err := archive.OriginOf(p); err == nil && scope.HasOrigin(o) {
			out = append(out, p)
		}
	}
	return out
}
