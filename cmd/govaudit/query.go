package main

import (
	"encoding/csv"
	"encoding/json"
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
	usageLine: "query ARCHIVE_DIR [--model M] [--provider P] [--user U] [--session S] [--conversation C] [--trace T]\n" +
		"               [--type T] [--since RFC3339] [--until RFC3339] [--format table|json|csv] [--limit N] [--stats]",
	short: "find records, opening only the data files whose audit index can match",
	run:   runQuery,
}

func runQuery(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	var f archive.Filter
	var types stringList
	fs.StringVar(&f.Model, "model", "", "request or response model")
	fs.StringVar(&f.Provider, "provider", "", "provider (openai, anthropic, aws.bedrock, …)")
	fs.StringVar(&f.UserID, "user", "", "user id; also finds the records of the same traces (attributed through the trace)")
	fs.StringVar(&f.SessionID, "session", "", "session id")
	fs.StringVar(&f.ConversationID, "conversation", "", "conversation id")
	fs.StringVar(&f.TraceID, "trace", "", "trace id (32 hex digits)")
	fs.StringVar(&f.Origin, "origin", "", "collector origin")
	fs.Var(&types, "type", "record type (repeatable): "+fmt.Sprint(record.Types()))
	fs.Var(timeValue{&f.Since}, "since", "only records at or after this time (RFC 3339)")
	fs.Var(timeValue{&f.Until}, "until", "only records before this time (RFC 3339)")
	format := fs.String("format", "table", "output format: table, json (one record per line) or csv")
	limit := fs.Int("limit", 0, "print at most N records (0: all)")
	stats := fs.Bool("stats", false, "print how many data files were opened and skipped to stderr")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
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

	q := &querier{root: pos[0]}
	recs, err := q.run(f)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit query: %v\n", err)
		return exitUsage
	}
	if *limit > 0 && len(recs) > *limit {
		recs = recs[:*limit]
	}
	if *stats {
		fmt.Fprintf(stderr, "%d records; data files: %d opened, %d skipped by their index\n", len(recs), q.opened, q.skipped)
	}
	if err := printRecords(stdout, *format, recs); err != nil {
		fmt.Fprintf(stderr, "govaudit query: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// querier runs queries over one archive, counting the files it opens.
type querier struct {
	root            string
	opened, skipped int
}

// run returns the records matching f in archive order. Checkpoint records are
// returned only when asked for by type. A user filter also returns the
// records of the traces in which the user's records appear, since
// instrumentations often set the user only on an application's parent span.
func (q *querier) run(f archive.Filter) ([]record.Record, error) {
	files, err := archive.DataFiles(q.root)
	if err != nil {
		return nil, err
	}
	if f.UserID == "" {
		return q.scan(files, func(ix *archive.Index) bool { return ix.Matches(&f) }, f.MatchRecord)
	}
	// First the traces in which the user appears, whatever the other filters.
	userOnly := archive.Filter{UserID: f.UserID, Origin: f.Origin}
	direct, err := q.scan(files, func(ix *archive.Index) bool { return ix.Matches(&userOnly) }, userOnly.MatchRecord)
	if err != nil {
		return nil, err
	}
	traces := map[string]bool{}
	for i := range direct {
		if direct[i].TraceID != "" {
			traces[direct[i].TraceID] = true
		}
	}
	byTrace := f
	byTrace.UserID = ""
	return q.scan(files,
		func(ix *archive.Index) bool {
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
		},
		func(r *record.Record) bool {
			if f.MatchRecord(r) {
				return true
			}
			byTrace.TraceID = r.TraceID
			return traces[r.TraceID] && byTrace.MatchRecord(r)
		})
}

// scan reads the files whose index may match (all files whose index is
// missing or unreadable: indexes only accelerate) and keeps matching rows.
func (q *querier) scan(files []string, mayMatch func(*archive.Index) bool, match func(*record.Record) bool) ([]record.Record, error) {
	var out []record.Record
	for _, p := range files {
		if ix, err := archive.ReadIndex(q.root, p); err == nil && !mayMatch(ix) {
			q.skipped++
			continue
		}
		q.opened++
		rows, err := archive.ReadRows(q.root, p)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			r := &rows[i]
			if match(r) {
				out = append(out, *r)
			}
		}
	}
	return out, nil
}

// queryColumns are the columns of the table and csv formats.
var queryColumns = []string{"time", "record_type", "origin", "epoch", "leaf_index", "provider", "model", "operation",
	"user_id", "session_id", "trace_id", "record_id"}

func row(r *record.Record) []string {
	model := r.ResponseModel
	if model == "" {
		model = r.RequestModel
	}
	t := ""
	if et := archive.EventTime(r); et != 0 {
		t = time.Unix(0, et).UTC().Format(time.RFC3339Nano)
	}
	leaf := strconv.FormatUint(r.LeafIndex, 10)
	if !r.IsLeaf() {
		leaf = "-"
	}
	return []string{t, string(r.Type), r.Origin, strconv.FormatUint(r.Epoch, 10), leaf, r.Provider, model, r.Operation,
		r.UserID, r.SessionID, r.TraceID, r.ID}
}

func printRecords(w io.Writer, format string, recs []record.Record) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for i := range recs {
			if err := enc.Encode(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(queryColumns); err != nil {
			return err
		}
		for i := range recs {
			if err := cw.Write(row(&recs[i])); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for i, c := range queryColumns {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
		for i := range recs {
			for j, v := range row(&recs[i]) {
				if j > 0 {
					fmt.Fprint(tw, "\t")
				}
				if v == "" {
					v = "-"
				}
				fmt.Fprint(tw, v)
			}
			fmt.Fprintln(tw)
		}
		return tw.Flush()
	}
}
