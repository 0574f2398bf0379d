package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/verify"
	"github.com/govaudit/govaudit/internal/verify/scan"
	pverify "github.com/govaudit/govaudit/pkg/verify"
)

var cmdVerify = &command{
	name:      "verify",
	usageLine: "verify --key FILE [--key FILE]... [--checkpoints DIR|FILE]... [--origin O]... [--since TIME] [--until TIME] [--json] ARCHIVE_DIR",
	short:     "verify an archive: every record, tree and checkpoint; fails unless a trusted signature covers every record",
	long: `Only sealed data files are verified: batches still in the exporter's
write-ahead log are counted in a note on stderr (and "pending" in --json)
and verified once their file is sealed.

--origin limits the run to those origins (their files, manifests and
checkpoints; other origins' are not read). --since and --until limit which
records are re-hashed from their content; every file's signed digest, every
tree, checkpoint and manifest chain of the origins in scope is still
checked. A limited run says "verified for <scope>", never "verified" for
the whole archive (docs/verification.md, "Verify what you ask").

On a terminal, progress (records read, records/s, time left) is shown on
stderr; never with --json or when stderr is not a terminal.

` + timeHelp,
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
	var origins stringList
	fs.Var(&origins, "origin", "verify only this `ORIGIN` (its files, manifests, checkpoints); repeatable")
	var scope verify.Scope
	fs.Var(timeValue{&scope.Since}, "since", "re-hash from their content only records at or after `TIME` (RFC 3339, or a date: its start, UTC); the others are checked by their signed file digest and stored leaf hash")
	fs.Var(untilValue{&scope.Until}, "until", "re-hash from their content only records before `TIME` (RFC 3339, or a date: its end, UTC)")
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
	if os.Getenv("GOGC") == "" {
		// Verify's heap is mostly buffers reused file after file: collecting
		// at half the default growth keeps its peak a tenth lower and was
		// faster too (1M records, one core: 240 MB against 266 MB;
		// docs/performance.md). GOGC, when set, decides.
		debug.SetGCPercent(50)
	}
	opts := &pverify.Options{Origins: origins, Since: scope.Since, Until: scope.Until, Checkpoints: kept}
	if !*asJSON {
		opts.Progress = progress(stderr) // a terminal only; never with --json
	}
	rep, err := pverify.Archive(pos[0], trusted, opts)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit verify: %v\n", err)
		return exitUsage
	}
	for _, o := range origins {
		if !slices.ContainsFunc(rep.Logs, func(l verify.LogReport) bool { return l.Origin == o }) {
			fmt.Fprintf(stderr, "govaudit verify: --origin %s: the archive holds no log of that origin\n", o)
			return exitUsage
		}
	}
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
		printSummary(stdout, pos[0], rep, wrongKeyHint(pos[0], *keys, rep))
	}
	if !rep.OK() {
		return exitFailed
	}
	return exitOK
}

// printSummary prints rep. Checkpoints and manifests that do not verify
// with the trusted keys (a wrong --key fails every one) are printed once
// with a count, the checkpoints then keyHint, which names the signers found
// and the keys trusted. When no manifest verifies, every file is uncovered
// for that one reason: uncovered_file is printed once with a count too.
// --json lists every problem.
func printSummary(w io.Writer, dir string, rep *verify.Report, keyHint string) {
	fmt.Fprintf(w, "archive %s: %d files, %d records, %d checkpoints, %d manifests (%d files digested)",
		dir, rep.Files, rep.Records, rep.Checkpoints, rep.Manifests, rep.DigestedFiles)
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
	count := map[string]int{}
	for _, p := range rep.Problems {
		count[p.Kind]++
	}
	// collapsed: the kinds printed once, then "<n> more <what>".
	collapsed := map[string]string{
		verify.KindCheckpointSig:     "checkpoints do not verify with the trusted keys",
		verify.KindManifestSignature: "manifests do not verify with the trusted keys",
	}
	if rep.Manifests == 0 && count[verify.KindManifestSignature] > 0 {
		collapsed[verify.KindUncoveredFile] = "files are listed by no manifest that verifies with the trusted keys"
	}
	printed := map[string]bool{}
	for _, p := range rep.Problems {
		what, ok := collapsed[p.Kind]
		if !ok {
			fmt.Fprintf(w, "FAIL %s\n", p)
			continue
		}
		if printed[p.Kind] {
			continue
		}
		printed[p.Kind] = true
		fmt.Fprintf(w, "FAIL %s\n", p)
		if n := count[p.Kind]; n > 1 {
			fmt.Fprintf(w, "FAIL %s: %d more %s\n", p.Kind, n-1, what)
		}
		if p.Kind == verify.KindCheckpointSig && keyHint != "" {
			fmt.Fprintln(w, keyHint)
		}
	}
	for _, p := range rep.Warnings {
		fmt.Fprintf(w, "WARN %s\n", p)
	}
	if rep.OK() && rep.Scope != nil {
		fmt.Fprintf(w, "verified for %s: %d records covered by checkpoints signed with a trusted key (%d re-hashed, %d by stored leaf hash); not a verification of the whole archive\n",
			rep.Scope, rep.Covered, rep.Scope.RowsChecked, rep.Scope.RowsHashOnly)
		return
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
// terminal, and nil otherwise (piped or redirected).
func progress(stderr io.Writer) func(scan.Progress) {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(p scan.Progress) {
		// \r and an erase to the end of the line: one line, rewritten.
		fmt.Fprintf(stderr, "\r%s\x1b[K", formatProgress(p))
		if p.Done {
			fmt.Fprintln(stderr)
		}
	}
}

// formatProgress formats a progress line: files and rows read, the rate,
// and an estimate of the time left (from the rows of the files opened so
// far), e.g. "verifying: 2/4 files, 512,000 of ~1,000,000 records, 410,000 records/s, ETA 1s".
func formatProgress(p scan.Progress) string {
	s := fmt.Sprintf("verifying: %d/%d files, %s", p.Files, p.TotalFiles, group(p.Rows))
	if p.EstimatedRows > p.Rows && !p.Done {
		s += " of ~" + group(p.EstimatedRows)
	}
	s += " records"
	secs := p.Elapsed.Seconds()
	if secs <= 0 || p.Rows == 0 {
		return s
	}
	rate := float64(p.Rows) / secs
	s += fmt.Sprintf(", %s records/s", group(int64(rate)))
	switch {
	case p.Done:
		s += fmt.Sprintf(", done in %s", roundDuration(p.Elapsed))
	case p.EstimatedRows > p.Rows:
		left := time.Duration(float64(p.EstimatedRows-p.Rows) / rate * float64(time.Second))
		s += ", ETA " + roundDuration(left)
	}
	return s
}

// group formats n with thousands separators: 1234567 is "1,234,567".
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// roundDuration rounds d for a person: to the second above 10 s, to the
// tenth of a second below.
func roundDuration(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// scanArchive feeds checker everything verify checks (scan.Archive).
func scanArchive(root string, checker *verify.Checker, progress func(scan.Progress), visit func(verify.File)) error {
	return scan.Archive(root, checker, progress, visit)
}

// forEachDecoded reads, hashes and decodes data files in parallel and calls
// visit in order (scan.Decoded).
func forEachDecoded(root string, files []string, workers int, visit func(i int, f verify.File)) error {
	return scan.Decoded(root, files, workers, visit)
}
