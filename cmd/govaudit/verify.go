package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/verify"
)

var cmdVerify = &command{
	name:      "verify",
	usageLine: "verify --key FILE [--key FILE]... [--checkpoints DIR|FILE]... [--json] ARCHIVE_DIR",
	short:     "verify an archive: every record, tree and checkpoint; fails unless a trusted signature covers every record",
	long: `Only sealed data files are verified: batches still in the exporter's
write-ahead log are counted in a note on stderr (and "pending" in --json)
and verified once their file is sealed.`,
	example: "govaudit verify --key ./data/keys/govaudit-dev.pub ./data/audit",
	run:     runVerify,
}

func runVerify(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	keys := keyFlag(fs)
	var external stringList
	fs.Var(&external, "checkpoints", "signed checkpoints kept outside the archive: a file holding one, or a directory of such files (regular files only); "+
		"the archive must reach each one's size with the same root and its latest must not be older (detects a rollback of latest); repeatable")
	asJSON := fs.Bool("json", false, "print a stable JSON report instead of a summary")
	strict := fs.Bool("strict", false, "accepted for compatibility, no effect: verify always fails when a record is not covered by a verified checkpoint or epoch link")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(*keys) == 0 {
		return c.usageError(stderr, "--key is required")
	}
	if len(pos) != 1 {
		return c.usageError(stderr, "want one ARCHIVE_DIR, got %d arguments", len(pos))
	}
	trusted, err := auditlog.LoadVerifiers(*keys...)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
		return exitUsage
	}
	if err := checkArchive(pos[0]); err != nil {
		fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
		return exitUsage
	}
	kept, err := readExternal(external)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit verify: --checkpoints: %v\n", err)
		return exitUsage
	}
	checker := verify.NewChecker(trusted)
	if err := scanArchive(pos[0], checker, progress(stderr), nil); err != nil {
		fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
		return exitUsage
	}
	for _, e := range kept {
		checker.AddExternal(e)
	}
	rep := checker.Report()
	pending := pendingNote(stderr, pos[0], time.Now())
	if *asJSON {
		out := struct {
			Archive string `json:"archive"`
			OK      bool   `json:"ok"`
			Strict  bool   `json:"strict"` // --strict given; it changes nothing
			// Pending counts the write-ahead log: acknowledged, not yet sealed, not verified.
			Pending archive.Pending `json:"pending"`
			*verify.Report
		}{pos[0], rep.OK(), *strict, pending, rep}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
			return exitUsage
		}
	} else {
		printSummary(stdout, pos[0], rep)
	}
	if !rep.OK() {
		return exitFailed
	}
	return exitOK
}

func printSummary(w io.Writer, dir string, rep *verify.Report) {
	fmt.Fprintf(w, "archive %s: %d files, %d records, %d checkpoints", dir, rep.Files, rep.Records, rep.Checkpoints)
	if rep.External > 0 {
		fmt.Fprintf(w, ", %d external checkpoints", rep.External)
	}
	fmt.Fprintln(w)
	for _, l := range rep.Logs {
		fmt.Fprintf(w, "  log %s: %d leaves, ", auditlog.LogID(l.Origin, l.Epoch), l.Leaves)
		if l.Checkpoints == 0 {
			fmt.Fprint(w, "no verified checkpoint")
		} else {
			fmt.Fprintf(w, "verified up to size %d by %d checkpoints (keys %s)", l.Verified, l.Checkpoints, strings.Join(l.KeyNames, ", "))
		}
		if l.LinkedBy != 0 {
			fmt.Fprintf(w, ", covered by the link of epoch %d", l.LinkedBy)
		}
		if l.Uncovered > 0 {
			fmt.Fprintf(w, ", %d NOT COVERED", l.Uncovered)
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "FAIL %s\n", p)
	}
	for _, p := range rep.Warnings {
		fmt.Fprintf(w, "WARN %s\n", p)
	}
	if rep.OK() {
		fmt.Fprintf(w, "verified: all %d records covered by checkpoints signed with a trusted key\n", rep.Covered)
		return
	}
	fmt.Fprintf(w, "verification FAILED: %d problems", len(rep.Problems))
	if rep.Uncovered > 0 {
		fmt.Fprintf(w, "; %d of %d records not covered by a verified checkpoint", rep.Uncovered, rep.Covered+rep.Uncovered)
	}
	fmt.Fprintln(w)
}

// progress returns a progress printer for long runs when stderr is a
// terminal, and nil otherwise.
func progress(stderr io.Writer) func(done, total int) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(done, total int) {
		fmt.Fprintf(stderr, "\rreading data files: %d/%d", done, total)
		if done == total {
			fmt.Fprintln(stderr)
		}
	}
}

// scanArchive feeds checker what verify checks: every data file (in archive
// order, hashed and decoded on GOMAXPROCS workers, at most that many in
// memory at once), every checkpoint file, every origin's latest pointer,
// every other file under records/, index/ and checkpoints/ (hashed), and
// every signed manifest.
// visit, if not nil, also sees each decoded data file. Unreadable data
// and checkpoint files (a FIFO, device, symlink, directory or oversized or
// corrupt file in their place) are not an I/O error but a finding
// (File.Err naming the path); a missing archive directory is.
func scanArchive(root string, checker *verify.Checker, progress func(done, total int), visit func(verify.File)) error {
	if fi, err := os.Stat(root); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", root)
	}
	files, err := archive.DataFiles(root)
	if err != nil {
		return err
	}
	if err := forEachDecoded(root, files, runtime.GOMAXPROCS(0), func(i int, f verify.File) {
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
	origins, err := os.ReadDir(filepath.Join(root, archive.CheckpointsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, o := range origins {
		if !o.IsDir() {
			continue // a symlink in place of an origin directory is listed by CheckpointFiles and refused
		}
		p := archive.LatestPath(o.Name())
		b, err := archive.ReadCheckpointFile(root, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // reported by verify as missing_latest if the origin has checkpoints
		}
		if err != nil {
			checker.AddFile(verify.File{Path: p, Err: fmt.Errorf("latest checkpoint: %w", err)})
			continue
		}
		checker.AddLatest(verify.LatestFile{Path: p, Origin: o.Name(), Text: string(b)})
	}
	return scanDigests(root, checker, files, cps)
}

// scanDigests feeds checker the files that only a manifest vouches for
// (indexes, and anything else under records/, index/ and checkpoints/
// besides the data and checkpoint files already read), each hashed, and
// every file under manifests/.
func scanDigests(root string, checker *verify.Checker, read ...[]string) error {
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
	for _, p := range manifests {
		b, err := archive.ReadManifestFile(root, p)
		checker.AddManifest(verify.ManifestFile{Path: p, Data: b, Err: err})
	}
	return nil
}

// forEachDecoded reads, hashes and decodes the data files on `workers`
// goroutines and calls visit with each, in order. At most `workers` decoded
// files wait for visit at any time, which bounds memory by the file size. A
// file that cannot be read or decoded reaches visit with File.Err set; the
// error result is nil (kept for callers that stop early).
func forEachDecoded(root string, files []string, workers int, visit func(i int, f verify.File)) error {
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
