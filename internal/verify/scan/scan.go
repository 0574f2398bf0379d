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
// order, read, hashed and checked on GOMAXPROCS workers, at most that many
// in memory at once), every checkpoint file, every origin's latest pointer,
// every other file under records/, index/ and checkpoints/ (hashed), and
// every signed manifest.
//
// Data files are read column by column (verify.ReadLeaves: each leaf's
// hash recomputed from its columns' bytes, 32 bytes kept a leaf); a file
// that does not pass that way is decoded as records and checked row by
// row (verify.Checker.AddFile), which names what is wrong. visit, if not
// nil, asks for every file as records (the report needs them): it sees
// each decoded data file. progress, if not nil, is called as rows are
// read. Unreadable data and checkpoint files (a FIFO, device, symlink,
// directory or oversized or corrupt file in their place) are not an I/O
// error but a finding (File.Err naming the path); a missing archive
// directory is.
func Archive(root string, checker *verify.Checker, progress func(Progress), visit func(verify.File)) error {
	if err := archive.CheckRoot(root); err != nil {
		return err
	}
	scope := checker.Scope()
	files, err := archive.DataFiles(root)
	if err != nil {
		return err
	}
	files = inScope(files, scope)
	pr := newProgressCounter(len(files), progress)
	if visit != nil {
		err = Decoded(root, files, runtime.GOMAXPROCS(0), func(i int, f verify.File) {
			checker.AddFile(f)
			visit(f)
			pr.FileRows(int64(len(f.Rows)))
			pr.fileDone(true, int64(len(f.Rows)))
		})
	} else {
		err = leaves(root, files, runtime.GOMAXPROCS(0), scope, pr, func(i int, r result) {
			if r.leaves != nil {
				checker.AddLeafFile(r.leaves)
				pr.fileDone(false, 0)
				return
			}
			// Read again as records: its rows count now.
			checker.AddFile(r.file)
			pr.fileDone(true, int64(len(r.file.Rows)))
		})
	}
	if err != nil {
		return err
	}
	pr.finish()
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
	inOrder(len(files), workers, func(i int) verify.File { return decode(root, files[i], nil, nil) }, visit)
	return nil
}

// decode reads, hashes and decodes one data file as records; data, if not
// nil, are its bytes already read, and d, if not nil, their digest (each
// byte is hashed once).
func decode(root, p string, data []byte, d *archive.Digest) verify.File {
	// Reading refuses what is not a regular file inside the archive and
	// decoding bounds what the file claims, so a hostile file is a finding
	// (File.Err), never a hang or an out-of-memory crash.
	f := verify.File{Path: p}
	if data == nil {
		var err error
		if data, err = archive.ReadDataFile(root, p); err != nil {
			f.Err = err
			return f
		}
	}
	// The digest of the very bytes decoded: verify compares it with the
	// signed manifest, never re-encodes.
	if d == nil {
		dg := archive.DigestOf(p, data)
		d = &dg
	}
	f.Digest = d
	f.Rows, f.Err = archive.DecodeFile(p, data)
	return f
}

// A result is a data file as a worker of leaves read it: by its columns
// (leaves), or as records (file) when it did not pass that way.
type result struct {
	leaves *verify.LeafFile
	file   verify.File
}

// leaves reads the data files column by column on `workers` goroutines
// (verify.ReadLeaves), falling back to decode for a file that does not pass
// that way, and calls visit with each, in order.
func leaves(root string, files []string, workers int, scope verify.Scope, pr *progressCounter, visit func(i int, r result)) error {
	inOrder(len(files), workers, func(i int) result {
		p := files[i]
		data, err := archive.ReadDataFile(root, p)
		if err != nil {
			return result{file: verify.File{Path: p, Err: err}}
		}
		d := archive.DigestOf(p, data)
		lf, err := verify.ReadLeaves(p, data, &d, scope, pr)
		if err != nil {
			return result{file: decode(root, p, data, &d)}
		}
		return result{leaves: lf}
	}, visit)
	return nil
}

// inOrder runs work(i) for i in [0, n) on `workers` goroutines and calls
// visit with each result in order of i. At most `workers` results are
// computed or waiting for visit at any time.
func inOrder[T any](n, workers int, work func(i int) T, visit func(i int, r T)) {
	results := make([]chan T, n)
	for i := range results {
		results[i] = make(chan T, 1)
	}
	slots := make(chan struct{}, max(workers, 1))
	go func() {
		for i := range n {
			slots <- struct{}{}
			go func() { results[i] <- work(i) }()
		}
	}()
	for i := range n {
		r := <-results[i]
		<-slots
		visit(i, r)
	}
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
