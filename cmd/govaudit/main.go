// Command govaudit creates signing keys for the auditsign processor and
// verifies, queries and proves records of a govaudit archive.
//
// Usage:
//
//	govaudit <command> [arguments]
//
// The commands are:
//
//	keygen        create a checkpoint signing key and its verifier key
//	verify        verify an archive: every record, tree and checkpoint
//	query         find records using the audit indexes
//	prove         write a self-contained inclusion proof for one record
//	verify-proof  check an inclusion proof without the archive
//	report        summarise an archive for an audit (markdown or JSON)
//	digest        compute the keyed digest of candidate content
//	reindex       rebuild the audit indexes of an archive
//
// ARCHIVE_DIR is a local directory or a bucket, s3://<bucket>[/<prefix>],
// read in place (one object at a time) with the standard AWS credentials
// chain and region, the endpoint from AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL, and path-style addressing when GOVAUDIT_S3_PATH_STYLE
// is true (see internal/archive for which object versions are read).
//
// Exit codes: 0 success, 1 verification failed (an integrity problem), 2
// usage or I/O error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/verify"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // verification found a problem
	exitUsage  = 2 // bad arguments or I/O error
)

// A command is one govaudit verb. Subcommands are in general best avoided;
// govaudit has a handful of flat verbs, each with its own flag set.
type command struct {
	name      string
	usageLine string
	short     string
	long      string // optional paragraphs after short, in help
	example   string // one or more example command lines, in help
	run       func(c *command, args []string, stdout, stderr io.Writer) int
}

var commands = []*command{cmdKeygen, cmdVerify, cmdQuery, cmdProve, cmdVerifyProof, cmdReport, cmdDigest, cmdReindex}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintf(stdout, "govaudit %s\n", version())
		return exitOK
	case "help":
		if len(args) == 1 {
			usage(stdout)
			return exitOK
		}
		if c := lookup(args[1]); c != nil {
			return c.run(c, []string{"--help"}, stdout, stdout)
		}
		fmt.Fprintf(stderr, "govaudit help: unknown command %q\n", args[1])
		usage(stderr)
		return exitUsage
	}
	if c := lookup(args[0]); c != nil {
		if helpRequested(args[1:]) {
			// Help goes to stdout: asked for, it is the command's output.
			return c.run(c, []string{"--help"}, stdout, stdout)
		}
		return c.run(c, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "govaudit: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// helpRequested reports whether args ask for help (-h, -help or --help
// before a "--").
func helpRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// version returns the module version of the binary, or its VCS revision
// (with "+dirty" for a modified tree) when built from a checkout.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if dirty {
		rev += "+dirty"
	}
	if when != "" {
		rev += " (" + when + ")"
	}
	return rev
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: govaudit <command> [arguments]\n\ncommands:")
	sorted := append([]*command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nARCHIVE_DIR is a directory or s3://BUCKET[/PREFIX] (AWS credentials chain; endpoint from")
	fmt.Fprintln(w, "AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL; GOVAUDIT_S3_PATH_STYLE=true for path-style addressing)")
	fmt.Fprintln(w, "\nexit codes: 0 ok, 1 verification failed, 2 usage or I/O error")
	fmt.Fprintln(w, "run 'govaudit help <command>' or 'govaudit <command> --help' for a command's flags and an example;")
	fmt.Fprintln(w, "'govaudit --version' prints the version")
}

// newFlagSet returns a flag set whose usage prints the command's help to
// w. run passes stdout for a help request; on a parse error the flag
// package prints the error and the help to stderr.
func (c *command) newFlagSet(w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() { c.printHelp(w, fs) }
	return fs
}

// printHelp writes the usage line, description, flags and example of c.
// Flags are written as --flag, as the README uses them: the flag package's
// PrintDefaults would write -flag (both forms are accepted).
func (c *command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: govaudit %s\n\n%s\n", c.usageLine, c.short)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if n == 0 {
			fmt.Fprintln(w, "\nflags:")
		}
		n++
		name, text := flag.UnquoteUsage(f)
		if isBool(f) {
			name = ""
		}
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "[]" {
			text += fmt.Sprintf(" (default %s)", d)
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, text)
	})
	if c.example != "" {
		fmt.Fprintln(w, "\nexample:")
		for _, l := range strings.Split(strings.TrimSpace(c.example), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// usageError prints "govaudit CMD: msg" and a pointer to the help, and
// returns exitUsage: a missing argument is named, not answered with the
// whole help text.
func (c *command) usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "govaudit %s: %s\nrun 'govaudit %s --help' for usage\n", c.name, fmt.Sprintf(format, args...), c.name)
	return exitUsage
}

// parseFlags parses args, allowing flags after positional arguments
// (govaudit verify DIR --key K). It returns the positional arguments and
// an exit code when parsing ended the command (-h: exitOK, error: exitUsage).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// keyFlag registers the repeatable --key flag of the commands that check
// signatures.
func keyFlag(fs *flag.FlagSet) *stringList {
	var keys stringList
	fs.Var(&keys, "key", "trusted verifier key `FILE` (note format, as written by keygen; several keys per file allowed); repeat for rotated keys")
	return &keys
}

// timeValue is a flag holding a time: RFC 3339, or a date YYYY-MM-DD
// meaning that day's UTC midnight. A bad value is a usage error reported
// by the flag package, naming the flag.
type timeValue struct{ t *time.Time }

func (v timeValue) String() string {
	if v.t == nil || v.t.IsZero() {
		return ""
	}
	return v.t.Format(time.RFC3339Nano)
}

func (v timeValue) Set(s string) error {
	t, err := parseTime(s, false)
	if err != nil {
		return err
	}
	*v.t = t
	return nil
}

// untilValue is the flag of an exclusive period end: RFC 3339, or a date
// YYYY-MM-DD meaning the end of that UTC day (the next day's midnight), so
// that --since 2026-11-26 --until 2026-11-26 is the whole day.
type untilValue struct{ t *time.Time }

func (v untilValue) String() string { return timeValue(v).String() }

func (v untilValue) Set(s string) error {
	t, err := parseTime(s, true)
	if err != nil {
		return err
	}
	*v.t = t
	return nil
}

// parseTime parses an RFC 3339 time or a date (UTC midnight; with
// endOfDay, the following midnight).
func parseTime(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date such as 2026-11-26 or an RFC 3339 time such as 2026-11-26T18:00:00Z")
	}
	if endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// timeHelp documents the time flags in each command's help.
const timeHelp = `Times are RFC 3339 (2026-11-26T18:00:00Z) or a date (2026-11-26, UTC).
A date given to --since means that day's start (00:00 UTC); given to
--until, the end of that day: --since 2026-11-26 --until 2026-11-26 is the
whole day. --until is exclusive.`

// pendingNote prints to w how many acknowledged batches wait in root's
// write-ahead log, unsealed: neither verify nor query sees them yet. It
// prints nothing when none wait and returns what it found.
func pendingNote(w io.Writer, root string, now time.Time) archive.Pending {
	p, err := archive.ReadPending(root)
	if err != nil {
		fmt.Fprintf(w, "note: cannot read the write-ahead log: %v\n", err)
		return p
	}
	if p.Segments == 0 {
		return p
	}
	fmt.Fprintf(w, "note: %d batch(es) of records acknowledged but not sealed yet (write-ahead log: %d segment(s), %d bytes, oldest opened %s ago); "+
		"verify and query see them once the exporter seals their file (rotation max_age, or at shutdown)\n",
		p.Entries, p.Segments, p.Bytes, max(now.Sub(p.Oldest), 0).Round(time.Second))
	return p
}

// wrongKeyHint returns, when checkpoints of rep failed their signature
// check, a line naming the keys that signed them (read from at most 16 of
// the checkpoint files named by the problems) and the keys trusted by
// --key, so that a wrong key says which key was expected. It returns ""
// when there is nothing to name.
func wrongKeyHint(root string, keyFiles []string, rep *verify.Report) string {
	var signers []string
	read := 0
	for _, p := range rep.Problems {
		if p.Kind != verify.KindCheckpointSig || p.Row >= 0 || read == 16 {
			continue // checkpoint rows are in data files: their checkpoint files name the same keys
		}
		b, err := archive.ReadCheckpointFile(root, p.File)
		if err != nil {
			continue
		}
		read++
		var une *note.UnverifiedNoteError
		if _, err := note.Open(b, note.VerifierList()); errors.As(err, &une) {
			for _, sig := range une.Note.UnverifiedSigs {
				if !slices.Contains(signers, sig.Name) {
					signers = append(signers, sig.Name)
				}
			}
		}
	}
	if len(signers) == 0 {
		return ""
	}
	var trusted []string
	for _, f := range keyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, err := note.NewVerifier(strings.TrimSpace(line)); err == nil && !slices.Contains(trusted, v.Name()) {
				trusted = append(trusted, v.Name())
			}
		}
	}
	hint := fmt.Sprintf("hint: the checkpoints are signed by key %s; --key trusts %s", strings.Join(signers, ", "), strings.Join(trusted, ", "))
	for _, s := range signers {
		if slices.Contains(trusted, s) {
			return hint + fmt.Sprintf(": a key named %s is trusted but its signature does not verify (another key of the same name, or a forged signature)", s)
		}
	}
	return hint + fmt.Sprintf(": pass the verifier key of %s (NAME.pub from govaudit keygen) if you trust it", strings.Join(signers, ", "))
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
