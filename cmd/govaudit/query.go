package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/record"
)

var cmdQuery = &command{
	name: "query",
	usageLine: "query ARCHIVE_DIR [--record ID] [--model M] [--provider P] [--user U] [--session S] [--conversation C] [--trace T]\n" +
		"               [--origin O] [--type T] [--since TIME] [--until TIME] [--format table|json|csv] [--limit N] [--stats]",
	short: "find records, opening only the data files whose audit index and bloom filters can match",
	long: `Only sealed data files are searched: records still in the exporter's
write-ahead log (see the note on stderr) appear once their file is sealed.
--limit stops reading files as soon as N records matched.

` + timeHelp,
	example: `govaudit query ./data/audit --user alice --since 2026-11-26 --format json
govaudit query ./data/audit --record 0193a5c0-...`,
	run: runQuery,
}

func runQuery(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	var f archive.Filter
	var types stringList
	id := fs.String("record", "", "the record of id `ID` (the record_id column)")
	fs.StringVar(&f.Model, "model", "", "request or response model")
	fs.StringVar(&f.Provider, "provider", "", "provider (openai, anthropic, aws.bedrock, …)")
	fs.StringVar(&f.UserID, "user", "", "`USER` id; also finds the records of the same traces (attributed through the trace)")
	fs.StringVar(&f.SessionID, "session", "", "session id")
	fs.StringVar(&f.ConversationID, "conversation", "", "conversation id")
	fs.StringVar(&f.TraceID, "trace", "", "trace id (32 hex digits)")
	fs.StringVar(&f.Origin, "origin", "", "collector origin")
	fs.Var(&types, "type", "record `TYPE` (repeatable): "+fmt.Sprint(record.Types()))
	fs.Var(timeValue{&f.Since}, "since", "only records at or after `TIME` (RFC 3339, or a date: its start, UTC)")
	fs.Var(untilValue{&f.Until}, "until", "only records before `TIME` (RFC 3339, or a date: its end, UTC)")
	format := fs.String("format", "table", "output `FORMAT`: table, json (one record per line) or csv")
	limit := fs.Int("limit", 0, "print at most `N` records, and stop reading once found (0: all)")
	stats := fs.Bool("stats", false, "print how many data files were opened and skipped to stderr")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return c.usageError(stderr, "want one ARCHIVE_DIR, got %d arguments", len(pos))
	}
	for _, t := range types {
		var rt record.Type
		if err := rt.UnmarshalText([]byte(t)); err != nil {
			fmt.Fprintf(stderr, "govaudit query: --type: %v\n", err)
			return exitUsage
		}
		f.Types = append(f.Types, rt)
	}
	switch *format {
	case "table", "json", "csv":
	default:
		fmt.Fprintf(stderr, "govaudit query: --format %q: want table, json or csv\n", *format)
		return exitUsage
	}
	if *limit < 0 {
		fmt.Fprintln(stderr, "govaudit query: --limit must be >= 0")
		return exitUsage
	}
	if err := checkArchive(pos[0]); err != nil {
		fmt.Fprintf(stderr, "govaudit query: %v\n", err)
		return exitUsage
	}
	pendingNote(stderr, pos[0], time.Now())

	p := newPrinter(stdout, *format)
	q := &querier{root: pos[0], id: *id, limit: *limit}
	if err := q.run(f, p.add); err != nil {
		fmt.Fprintf(stderr, "govaudit query: %v\n", err)
		return exitUsage
	}
	if *stats {
		var decoded, held int64
		for f := range q.opened {
			decoded, held = decoded+int64(q.decoded[f]), held+q.held[f]
		}
		fmt.Fprintf(stderr, "%d records; data files: %d of %d opened, %d skipped by their index or bloom filters; %d of %d rows decoded\n",
			p.n, len(q.opened), q.files, q.files-len(q.opened), decoded, held)
	}
	if p.dups > 0 {
		// Both records of a model call seen by two instrumentations are
		// evidence and listed; report and the metrics count the call once.
		fmt.Fprintf(stderr, "note: %d of %d records duplicate another record's model call (column duplicate_of; --format json: flags); they are counted once\n",
			p.dups, p.n)
	}
	if err := p.flush(); err != nil {
		fmt.Fprintf(stderr, "govaudit query: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// errLimit ends a scan once the limit is reached.
var errLimit = errors.New("limit reached")

// querier runs queries over one archive, noting the files it opens.
type querier struct {
	root  string
	id    string // if set, only the record of this id
	limit int    // stop after this many records (0: no limit)
	files int
	// opened holds each data file read at least once: a user query reads
	// some files twice (its traces, then its records), counted once.
	opened map[string]bool
	found  int
	// decoded holds, for --stats, the most rows decoded of each file read
	// (a limit stops decoding inside a file), held the rows its footer
	// claims.
	decoded map[string]int
	held    map[string]int64
}

// run calls emit with the records matching f in archive order, stopping
// after q.limit. Checkpoint records are returned only when asked for by
// type. A user filter also returns the records of the traces in which the
// user's records appear, since instrumentations often set the user only
// on an application's parent span.
func (q *querier) run(f archive.Filter, emit func(*record.Record) error) error {
	files, err := archive.DataFiles(q.root)
	if err != nil {
		return err
	}
	q.files, q.opened, q.decoded, q.held = len(files), map[string]bool{}, map[string]int{}, map[string]int64{}
	match := f.MatchRecord
	mayMatch := func(ix *archive.Index) bool { return ix.Matches(&f) }
	mayHold := func(df *archive.DataFile) bool { return q.mayHold(df, &f) }
	if f.UserID != "" {
		// First the traces in which the user appears, whatever the other
		// filters: all of them, so no limit here.
		userOnly := archive.Filter{UserID: f.UserID, Origin: f.Origin}
		traces := map[string]bool{}
		err := q.scan(files, func(ix *archive.Index) bool { return ix.Matches(&userOnly) },
			func(df *archive.DataFile) bool { return df.MayContain("user_id", f.UserID) }, userOnly.MatchRecord,
			func(r *record.Record) error {
				if r.TraceID != "" {
					traces[r.TraceID] = true
				}
				return nil
			})
		if err != nil {
			return err
		}
		byTrace := f
		byTrace.UserID = ""
		mayMatch = func(ix *archive.Index) bool {
			if ix.Matches(&f) {
				return true
			}
			for t := range traces {
				byTrace.TraceID = t
				if ix.Matches(&byTrace) {
					return true
				}
			}
			return false
		}
		match = func(r *record.Record) bool {
			if f.MatchRecord(r) {
				return true
			}
			byTrace.TraceID = r.TraceID
			return traces[r.TraceID] && byTrace.MatchRecord(r)
		}
		mayHold = func(df *archive.DataFile) bool {
			if q.mayHold(df, &f) {
				return true
			}
			byTrace.TraceID = ""
			if !q.mayHold(df, &byTrace) {
				return false
			}
			for t := range traces {
				if df.MayContain("trace_id", t) {
					return true
				}
			}
			return false
		}
	}
	err = q.scan(files, mayMatch, mayHold, match, func(r *record.Record) error {
		if err := emit(r); err != nil {
			return err
		}
		q.found++
		if q.limit > 0 && q.found >= q.limit {
			return errLimit
		}
		return nil
	})
	if err == errLimit {
		return nil
	}
	return err
}

// scan reads, one at a time and in order, the files whose index may match
// (all files whose index is missing or unreadable: indexes only
// accelerate) and whose Parquet bloom filters may hold the ids asked for
// (mayHold), and calls emit with each matching row of the record asked
// for, if any. An error from emit ends the scan.
func (q *querier) scan(files []string, mayMatch func(*archive.Index) bool, mayHold func(*archive.DataFile) bool,
	match func(*record.Record) bool, emit func(*record.Record) error) error {
	for _, p := range files {
		if ix, err := archive.ReadIndex(q.root, p); err == nil && !mayMatch(ix) {
			continue
		}
		if df, err := archive.OpenDataFile(q.root, p); err == nil {
			// Only its footer and a 32-byte block a value are read; a
			// file that cannot be opened this way is read below, which
			// reports what is wrong with it.
			skip := !mayHold(df)
			q.held[p] = df.NumRows()
			df.Close()
			if skip {
				continue
			}
		}
		q.opened[p] = true
		// Rows stream: a limit reached ends the decoding inside the file.
		decoded, err := archive.EachRow(q.root, p, func(r *record.Record) error {
			if (q.id == "" || r.ID == q.id) && match(r) {
				return emit(r)
			}
			return nil
		})
		q.decoded[p] = max(q.decoded[p], decoded)
		if err != nil {
			return err
		}
	}
	return nil
}

// mayHold reports whether the bloom filters of df (record.BloomFilterColumns)
// may hold the ids f and the record id asked for: the audit index keeps id
// sets of at most archive.MaxExactIDs values, the data files' own filters
// answer for larger ones.
func (q *querier) mayHold(df *archive.DataFile, f *archive.Filter) bool {
	for col, v := range map[string]string{"record_id": q.id, "user_id": f.UserID, "session_id": f.SessionID,
		"conversation_id": f.ConversationID, "trace_id": f.TraceID} {
		if v != "" && !df.MayContain(col, v) {
			return false
		}
	}
	return true
}

// queryColumns are the columns of the table and csv formats; record_id
// stays last (scripts take the last field, README).
var queryColumns = []string{"time", "record_type", "origin", "epoch", "leaf_index", "provider", "model", "operation",
	"user_id", "session_id", "trace_id", "duplicate_of", "record_id"}

func row(r *record.Record) []string {
	model := r.ResponseModel
	if model == "" {
		model = r.RequestModel
	}
	t := ""
	if et := r.EventTime(); et != 0 {
		t = time.Unix(0, et).UTC().Format(time.RFC3339Nano)
	}
	leaf := strconv.FormatUint(r.LeafIndex, 10)
	if !r.IsLeaf() {
		leaf = "-"
	}
	return []string{t, string(r.Type), r.Origin, strconv.FormatUint(r.Epoch, 10), leaf, r.Provider, model, r.Operation,
		r.UserID, r.SessionID, r.TraceID, r.DuplicateOf(), r.ID}
}

// A printer writes records as they are found: json and csv lines at once,
// the table (aligned by tabwriter) at flush.
type printer struct {
	format string
	n      int
	dups   int // records flagged duplicate: another record counts their model call
	enc    *json.Encoder
	cw     *csv.Writer
	tw     *tabwriter.Writer
	err    error
}

func newPrinter(w io.Writer, format string) *printer {
	p := &printer{format: format}
	switch format {
	case "json":
		p.enc = json.NewEncoder(w)
		p.enc.SetEscapeHTML(false)
	case "csv":
		p.cw = csv.NewWriter(w)
		p.err = p.cw.Write(queryColumns)
	default:
		p.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		p.line(queryColumns)
	}
	return p
}

func (p *printer) line(vs []string) {
	for j, v := range vs {
		if j > 0 {
			fmt.Fprint(p.tw, "\t")
		}
		if v == "" {
			v = "-"
		}
		fmt.Fprint(p.tw, v)
	}
	fmt.Fprintln(p.tw)
}

func (p *printer) add(r *record.Record) error {
	if p.err != nil {
		return p.err
	}
	p.n++
	if r.IsDuplicate() {
		p.dups++
	}
	switch p.format {
	case "json":
		p.err = p.enc.Encode(r)
	case "csv":
		p.err = p.cw.Write(row(r))
	default:
		p.line(row(r))
	}
	return p.err
}

func (p *printer) flush() error {
	if p.err != nil {
		return p.err
	}
	switch p.format {
	case "csv":
		p.cw.Flush()
		return p.cw.Error()
	case "table":
		return p.tw.Flush()
	}
	return nil
}
