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

	"golang.org/x/term"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/verify"
)

var cmdVerify = &command{
	name:      "verify",
	usageLine: "verify --key FILE [--key FILE]... [--json] [--strict] ARCHIVE_DIR",
	short:     "verify every record, Merkle tree and signed checkpoint of an archive (never trusts the indexes)",
	run:       runVerify,
}

func runVerify(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	keys := keyFlag(fs)
	asJSON := fs.Bool("json", false, "print a stable JSON report instead of a summary")
	strict := fs.Bool("strict", false, "also fail when records are not yet covered by a checkpoint (unsealed)")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || len(*keys) == 0 {
		fs.Usage()
		return exitUsage
	}
	trusted, err := auditlog.LoadVerifiers(*keys...)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
		return exitUsage
	}
	checker := verify.NewChecker(trusted)
	if err := scanArchive(pos[0], checker, progress(stderr), nil); err != nil {
		fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
		return exitUsage
	}
	rep := checker.Report()
	if *asJSON {
		out := struct {
			Archive string `json:"archive"`
			OK      bool   `json:"ok"`
			Strict  bool   `json:"strict"`
			*verify.Report
		}{pos[0], rep.OK(*strict), *strict, rep}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
			return exitUsage
		}
	} else {
		printSummary(stdout, pos[0], rep, *strict)
	}
	if !rep.OK(*strict) {
		return exitFailed
	}
	return exitOK
}

func printSummary(w io.Writer, dir string, rep *verify.Report, strict bool) {
	fmt.Fprintf(w, "archive %s: %d files, %d records, %d checkpoints\n", dir, rep.Files, rep.Records, rep.Checkpoints)
	for _, l := range rep.Logs {
		fmt.Fprintf(w, "  log %s: %d leaves, verified up to size %d by %d checkpoints (keys %s)",
			auditlog.LogID(l.Origin, l.Epoch), l.Leaves, l.Verified, l.Checkpoints, strings.Join(l.KeyNames, ", "))
		if l.Unsealed > 0 {
			fmt.Fprintf(w, ", %d unsealed", l.Unsealed)
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "FAIL %s\n", p)
	}
	for _, p := range rep.Warnings {
		fmt.Fprintf(w, "WARN %s\n", p)
	}
	switch {
	case !rep.OK(false):
		fmt.Fprintf(w, "verification FAILED: %d problems\n", len(rep.Problems))
	case !rep.OK(strict):
		fmt.Fprintln(w, "verification FAILED (--strict): records not covered by a checkpoint")
	case len(rep.Warnings) > 0:
		fmt.Fprintln(w, "verified, with an unsealed tail (not yet covered by a checkpoint)")
	default:
		fmt.Fprintln(w, "verified")
	}
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
// order, decoded and re-encoded on GOMAXPROCS workers, at most that many in
// memory at once), every checkpoint file and every origin's latest pointer.
// visit, if not nil, also sees each decoded data file. Unreadable data
// files are not an I/O error but a finding (File.Err); a missing archive
// directory is.
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
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			return err
		}
		cf := verify.CheckpointFile{Path: p, Text: string(b)}
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
			continue
		}
		p := archive.LatestPath(o.Name())
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // reported by verify as missing_latest if the origin has checkpoints
		}
		if err != nil {
			return err
		}
		checker.AddLatest(verify.LatestFile{Path: p, Origin: o.Name(), Text: string(b)})
	}
	return nil
}

// forEachDecoded reads, decodes and re-encodes the data files on `workers`
// goroutines and calls visit with each, in order. At most `workers` decoded
// files wait for visit at any time, which bounds memory by the file size.
func forEachDecoded(root string, files []string, workers int, visit func(i int, f verify.File)) error {
	type result struct {
		f   verify.File
		err error // I/O error reading the file
	}
	results := make([]chan result, len(files))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	slots := make(chan struct{}, max(workers, 1))
	go func() {
		for i, p := range files {
			slots <- struct{}{}
			go func() {
				data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
				if err != nil {
					results[i] <- result{err: err}
					return
				}
				f := verify.File{Path: p}
				if f.Rows, f.Err = archive.DecodeFile(p, data); f.Err == nil {
					f.Reencoded = archive.SameEncoding(data, f.Rows)
				}
				results[i] <- result{f: f}
			}()
		}
	}()
	var firstErr error
	for i := range files {
		r := <-results[i]
		<-slots
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		if firstErr == nil {
			visit(i, r.f)
		}
	}
	return firstErr
}
