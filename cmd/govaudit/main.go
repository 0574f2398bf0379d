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
// Exit codes: 0 success, 1 verification failed (an integrity problem), 2
// usage or I/O error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"
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
	run       func(c *command, args []string, stdout, stderr io.Writer) int
}

var commands = []*command{cmdKeygen, cmdVerify, cmdQuery, cmdProve, cmdVerifyProof, cmdReport, cmdDigest, cmdReindex}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(c, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "govaudit: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: govaudit <command> [arguments]\n\ncommands:")
	sorted := append([]*command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nexit codes: 0 ok, 1 verification failed, 2 usage or I/O error")
	fmt.Fprintln(w, "run 'govaudit <command> -h' for a command's flags")
}

// newFlagSet returns a flag set whose usage names the command; parse errors
// return exitUsage through parseFlags.
func (c *command) newFlagSet(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: govaudit %s\n\n%s\n\n", c.usageLine, c.short)
		fs.PrintDefaults()
	}
	return fs
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
	fs.Var(&keys, "key", "trusted verifier key file (note format, as written by keygen; several keys per file allowed); repeat for rotated keys")
	return &keys
}

// timeValue is a flag holding an RFC 3339 time; a bad value is a usage
// error reported by the flag package, naming the flag.
type timeValue struct{ t *time.Time }

func (v timeValue) String() string {
	if v.t == nil || v.t.IsZero() {
		return ""
	}
	return v.t.Format(time.RFC3339Nano)
}

func (v timeValue) Set(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time such as 2026-11-26T18:00:00Z")
	}
	*v.t = t
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
