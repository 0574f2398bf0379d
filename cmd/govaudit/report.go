package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
)

var cmdReport = &command{
	name:      "report",
	usageLine: "report --key FILE [--key FILE]... [--since TIME] [--until TIME] [--format markdown|json] ARCHIVE_DIR",
	short:     "summarise an archive for an audit: integrity, models, decisions, human oversight and lifecycle events",
	long:      timeHelp,
	example:   "govaudit report --key ./data/keys/govaudit-dev.pub --since 2026-11-01 --until 2026-11-30 ./data/audit > report.md",
	run:       runReport,
}

// Report is the summary written by govaudit report. Its JSON form is stable.
type Report struct {
	Archive     string    `json:"archive"`
	GeneratedAt time.Time `json:"generated_at"`
	Since       string    `json:"since,omitempty"`
	Until       string    `json:"until,omitempty"`
	// Integrity is the verification of the whole archive, whatever the
	// period: Verified exactly when govaudit verify would exit 0.
	Integrity struct {
		Verified bool `json:"verified"`
		Problems int  `json:"problems"`
		// Covered and Uncovered count the archive's leaves covered by a
		// verified checkpoint or epoch link, and the others.
		Covered   uint64 `json:"covered"`
		Uncovered uint64 `json:"uncovered"`
		// UnreadableFiles are data files whose records no figure counts.
		UnreadableFiles int                `json:"unreadable_files"`
		Logs            []verify.LogReport `json:"logs"`
		FirstIssues     []string           `json:"first_issues,omitempty"`
	} `json:"integrity"`
	Records      int            `json:"records"`
	FirstEvent   string         `json:"first_event,omitempty"`
	LastEvent    string         `json:"last_event,omitempty"`
	ByType       map[string]int `json:"by_type"`
	Models       []ModelUsage   `json:"models"`
	Users        int            `json:"distinct_users"`
	Sessions     int            `json:"distinct_sessions"`
	Unattributed int            `json:"decisions_without_user"`
	Flags        map[string]int `json:"flags"`
	// Content counts decisions by what the archive holds of their input.
	Content struct {
		Raw        int `json:"raw_or_redacted"`
		DigestOnly int `json:"digest_only"`
		None       int `json:"none"`
	} `json:"input_content"`
	Oversight []EventLine `json:"oversight"`
	Lifecycle []EventLine `json:"lifecycle"`
	// Unverified tells, figure by figure, how many of the records counted
	// above are not verified: covered by no verified checkpoint or epoch
	// link, or a second row at one leaf index. All zero when verified.
	Unverified Unverified `json:"unverified"`
}

// Unverified holds the part of each figure of a Report that comes from
// unverified records.
type Unverified struct {
	Records int            `json:"records"`
	ByType  map[string]int `json:"by_type,omitempty"`
	// Users and Sessions count the distinct ones seen only in unverified records.
	Users        int            `json:"distinct_users_only_unverified"`
	Sessions     int            `json:"distinct_sessions_only_unverified"`
	Unattributed int            `json:"decisions_without_user"`
	Flags        map[string]int `json:"flags,omitempty"`
	Content      struct {
		Raw        int `json:"raw_or_redacted"`
		DigestOnly int `json:"digest_only"`
		None       int `json:"none"`
	} `json:"input_content"`
}

// ModelUsage counts the decisions of one model version.
type ModelUsage struct {
	Provider     string `json:"provider"`
	Model        string `json:"model"`
	ModelVersion string `json:"model_version,omitempty"`
	Records      int    `json:"records"`
	Errors       int    `json:"errors"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	// Unverified counts the decisions among Records that are not verified.
	Unverified int `json:"unverified_records,omitempty"`
}

// EventLine is one oversight, lifecycle or configuration event.
type EventLine struct {
	Time      string `json:"time"`
	Type      string `json:"record_type"`
	Event     string `json:"event"`
	Actor     string `json:"actor,omitempty"`
	Model     string `json:"model,omitempty"`
	Version   string `json:"model_version,omitempty"`
	Reference string `json:"reference,omitempty"`
	RecordID  string `json:"record_id"`
	// Verified is false for an event whose record is not verified.
	Verified bool `json:"verified"`

	loc rowLoc // where the record was read, to mark it unverified
}

// rowLoc is a row of a data file.
type rowLoc struct {
	file string
	row  int
}

// decisionTypes are the record types that document a model decision.
var decisionTypes = map[record.Type]bool{
	record.TypeInference: true, record.TypeEmbedding: true, record.TypeRetrieval: true,
	record.TypeToolCall: true, record.TypeAgent: true, record.TypeWorkflow: true, record.TypeGuardrail: true,
}

func runReport(c *command, args []string, stdout, stderr io.Writer) int {
	fs := c.newFlagSet(stderr)
	keys := keyFlag(fs)
	var f archive.Filter
	fs.Var(timeValue{&f.Since}, "since", "period start (RFC 3339, or a date: its start, UTC); default: the first record")
	fs.Var(untilValue{&f.Until}, "until", "period end, exclusive (RFC 3339, or a date: its end, UTC); default: after the last record")
	format := fs.String("format", "markdown", "output format: markdown or json")
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
	if *format != "markdown" && *format != "json" {
		return c.usageError(stderr, "--format %q: want markdown or json", *format)
	}
	trusted, err := auditlog.LoadVerifiers(*keys...)
	if err != nil {
		fmt.Fprintf(stderr, "govaudit report: %v\n", err)
		return exitUsage
	}
	if err := checkArchive(pos[0]); err != nil {
		fmt.Fprintf(stderr, "govaudit report: %v\n", err)
		return exitUsage
	}
	checker := verify.NewChecker(trusted)
	rep := newReport(pos[0])
	agg := newAggregate(rep, f)
	if err := scanArchive(pos[0], checker, progress(stderr), agg.addFile); err != nil {
		fmt.Fprintf(stderr, "govaudit report: %v\n", err)
		return exitUsage
	}
	v := checker.Report()
	// Which records are unverified is known only now: read again the files
	// that hold some (none in a verified archive) and count them apart.
	unverified := checker.UnverifiedRows()
	un := newAggregate(newReport(pos[0]), f)
	if err := forEachDecoded(pos[0], sortedFiles(unverified), runtime.GOMAXPROCS(0), func(_ int, file verify.File) {
		un.addFile(only(file, unverified[file.Path]))
	}); err != nil {
		fmt.Fprintf(stderr, "govaudit report: %v\n", err)
		return exitUsage
	}
	agg.finish(v, un, unverified)
	rep.Since, rep.Until = timeValue{&f.Since}.String(), timeValue{&f.Until}.String()
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "govaudit report: %v\n", err)
			return exitUsage
		}
	} else {
		writeMarkdown(stdout, rep)
	}
	if !rep.Integrity.Verified {
		return exitFailed
	}
	return exitOK
}

func newReport(dir string) *Report {
	return &Report{Archive: dir, GeneratedAt: time.Now().UTC().Truncate(time.Second),
		ByType: map[string]int{}, Flags: map[string]int{}, Oversight: []EventLine{}, Lifecycle: []EventLine{}}
}

// aggregate accumulates a Report from the data files, file by file.
type aggregate struct {
	rep    *Report
	filter archive.Filter
	models map[ModelUsage]*ModelUsage
	// users and sessions count the records of each.
	users       map[string]int
	sessions    map[string]int
	first, last int64
}

func newAggregate(rep *Report, f archive.Filter) *aggregate {
	return &aggregate{rep: rep, filter: f, models: map[ModelUsage]*ModelUsage{}, users: map[string]int{}, sessions: map[string]int{}}
}

// sortedFiles returns the files of rows, sorted.
func sortedFiles(rows map[string][]int) []string {
	files := make([]string, 0, len(rows))
	for f := range rows {
		files = append(files, f)
	}
	sort.Strings(files)
	return files
}

// only returns file with only the given rows (sorted indexes). A row out of
// range (the file changed since it was verified) is skipped.
func only(file verify.File, rows []int) verify.File {
	out := verify.File{Path: file.Path, Err: file.Err}
	for _, i := range rows {
		if i < len(file.Rows) {
			out.Rows = append(out.Rows, file.Rows[i])
		}
	}
	return out
}

func (a *aggregate) addFile(file verify.File) {
	rep := a.rep
	for i := range file.Rows {
		r := &file.Rows[i]
		if !r.IsLeaf() || !a.filter.MatchRecord(r) {
			continue
		}
		rep.Records++
		rep.ByType[string(r.Type)]++
		if t := archive.EventTime(r); t != 0 {
			if a.first == 0 || t < a.first {
				a.first = t
			}
			a.last = max(a.last, t)
		}
		for _, fl := range r.Flags {
			rep.Flags[fl]++
		}
		if r.UserID != "" {
			a.users[r.UserID]++
		}
		if r.SessionID != "" {
			a.sessions[r.SessionID]++
		}
		switch {
		case decisionTypes[r.Type] && !r.IsDuplicate():
			// A duplicate (the same model call seen by a second
			// instrumentation) is counted in records and flags, not as a
			// decision: the record it names counts the call and its tokens.
			a.addDecision(r)
		case r.Type == record.TypeOversight:
			rep.Oversight = append(rep.Oversight, eventLine(r, rowLoc{file.Path, i}))
		case r.Type == record.TypeLifecycle || r.Type == record.TypeConfigChange:
			rep.Lifecycle = append(rep.Lifecycle, eventLine(r, rowLoc{file.Path, i}))
		}
	}
}

func (a *aggregate) addDecision(r *record.Record) {
	rep := a.rep
	if r.UserID == "" {
		rep.Unattributed++
	}
	model := r.ResponseModel
	if model == "" {
		model = r.RequestModel
	}
	key := ModelUsage{Provider: r.Provider, Model: model, ModelVersion: r.ModelVersion}
	m := a.models[key]
	if m == nil {
		m = &ModelUsage{Provider: key.Provider, Model: key.Model, ModelVersion: key.ModelVersion}
		a.models[key] = m
	}
	m.Records++
	if r.StatusCode == "error" || r.ErrorType != "" {
		m.Errors++
	}
	if r.InputTokens != nil {
		m.InputTokens += *r.InputTokens
	}
	if r.OutputTokens != nil {
		m.OutputTokens += *r.OutputTokens
	}
	switch {
	case r.Input != "":
		rep.Content.Raw++
	case r.InputDigest != "":
		rep.Content.DigestOnly++
	default:
		rep.Content.None++
	}
}

// finish completes the report with the verification result v and un, the
// aggregate of the unverified records (at rows), which marks every figure
// they are part of.
func (a *aggregate) finish(v *verify.Report, un *aggregate, rows map[string][]int) {
	rep := a.rep
	rep.Integrity.Verified = v.OK()
	rep.Integrity.Problems = len(v.Problems)
	rep.Integrity.Covered, rep.Integrity.Uncovered = v.Covered, v.Uncovered
	rep.Integrity.Logs = v.Logs
	for i, p := range v.Problems {
		if p.Kind == verify.KindUnreadableFile {
			rep.Integrity.UnreadableFiles++
		}
		if i < 5 {
			rep.Integrity.FirstIssues = append(rep.Integrity.FirstIssues, p.String())
		}
	}
	u, ur := &rep.Unverified, un.rep
	u.Records, u.Unattributed, u.Content = ur.Records, ur.Unattributed, ur.Content
	if len(ur.ByType) > 0 {
		u.ByType = ur.ByType
	}
	if len(ur.Flags) > 0 {
		u.Flags = ur.Flags
	}
	for user, n := range un.users {
		if a.users[user] == n {
			u.Users++
		}
	}
	for session, n := range un.sessions {
		if a.sessions[session] == n {
			u.Sessions++
		}
	}
	for key, m := range un.models {
		if all := a.models[key]; all != nil {
			all.Unverified = m.Records
		}
	}
	bad := map[rowLoc]bool{}
	for f, rs := range rows {
		for _, r := range rs {
			bad[rowLoc{f, r}] = true
		}
	}
	for _, lines := range [][]EventLine{rep.Oversight, rep.Lifecycle} {
		for i := range lines {
			lines[i].Verified = !bad[lines[i].loc]
		}
	}
	rep.Users, rep.Sessions = len(a.users), len(a.sessions)
	if a.first != 0 {
		rep.FirstEvent = time.Unix(0, a.first).UTC().Format(time.RFC3339)
		rep.LastEvent = time.Unix(0, a.last).UTC().Format(time.RFC3339)
	}
	for _, m := range a.models {
		rep.Models = append(rep.Models, *m)
	}
	sort.Slice(rep.Models, func(i, j int) bool {
		x, y := rep.Models[i], rep.Models[j]
		if x.Records != y.Records {
			return x.Records > y.Records
		}
		return x.Provider+x.Model+x.ModelVersion < y.Provider+y.Model+y.ModelVersion
	})
}

func eventLine(r *record.Record, loc rowLoc) EventLine {
	e := EventLine{Type: string(r.Type), Event: r.EventName, Actor: r.UserID, Model: r.RequestModel,
		Version: r.ModelVersion, Reference: r.Reference, RecordID: r.ID, loc: loc}
	if t := archive.EventTime(r); t != 0 {
		e.Time = time.Unix(0, t).UTC().Format(time.RFC3339)
	}
	return e
}

func writeMarkdown(w io.Writer, r *Report) {
	dash := func(s string) string {
		if s == "" {
			return "—"
		}
		return strings.ReplaceAll(s, "|", `\|`)
	}
	u := &r.Unverified
	// mark tells how many of a figure's records are unverified, if any.
	mark := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf(" (%d unverified)", n)
	}
	fmt.Fprintf(w, "# Audit report: %s\n\nGenerated %s", r.Archive, r.GeneratedAt.Format(time.RFC3339))
	if r.Since != "" || r.Until != "" {
		fmt.Fprintf(w, " for the period [%s, %s)", dash(r.Since), dash(r.Until))
	}
	fmt.Fprintf(w, ".\n\n## Integrity\n\n")
	if r.Integrity.Verified {
		fmt.Fprintf(w, "**Verified.** Every record, Merkle tree and signed checkpoint of the archive checked out: "+
			"all %d records are covered by checkpoints signed with a trusted key.\n", r.Integrity.Covered)
	} else {
		fmt.Fprintf(w, "**FAILED: %d integrity problems.** Run `govaudit verify` for the full list. First:\n\n", r.Integrity.Problems)
		for _, p := range r.Integrity.FirstIssues {
			fmt.Fprintf(w, "- %s\n", p)
		}
		fmt.Fprintf(w, "\n%d of the archive's %d records are covered by no checkpoint signed with a trusted key.",
			r.Integrity.Uncovered, r.Integrity.Covered+r.Integrity.Uncovered)
		if r.Integrity.UnreadableFiles > 0 {
			fmt.Fprintf(w, " %d data files could not be read: no figure below counts their records.", r.Integrity.UnreadableFiles)
		}
		fmt.Fprintln(w, " Figures below that include records which are not verified say so: \"(N unverified)\".")
	}
	fmt.Fprintln(w, "\n| log (origin/epoch) | records | covered | not covered | checkpointed size | keys |\n|---|---|---|---|---|---|")
	for _, l := range r.Integrity.Logs {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %s |\n", auditlog.LogID(l.Origin, l.Epoch), l.Leaves, l.Covered, l.Uncovered,
			l.Verified, dash(strings.Join(l.KeyNames, ", ")))
	}

	period := fmt.Sprintf("from %s to %s", dash(r.FirstEvent), dash(r.LastEvent))
	if u.Records > 0 {
		period += " (including unverified records)"
	}
	users := fmt.Sprintf("%d distinct users", r.Users)
	if u.Users > 0 {
		users += fmt.Sprintf(" (%d seen only in unverified records)", u.Users)
	}
	sessions := fmt.Sprintf("%d sessions", r.Sessions)
	if u.Sessions > 0 {
		sessions += fmt.Sprintf(" (%d seen only in unverified records)", u.Sessions)
	}
	fmt.Fprintf(w, "\n## Records\n\n%d records%s %s; %s, %s; %d model decisions without a user%s.\n\n",
		r.Records, mark(u.Records), period, users, sessions, r.Unattributed, mark(u.Unattributed))
	fmt.Fprintln(w, "| record type | records |\n|---|---|")
	for _, t := range sortedKeys(r.ByType) {
		fmt.Fprintf(w, "| %s | %d%s |\n", t, r.ByType[t], mark(u.ByType[t]))
	}

	fmt.Fprintln(w, "\n## Models\n\n| provider | model | version | decisions | errors | input tokens | output tokens |\n|---|---|---|---|---|---|---|")
	for _, m := range r.Models {
		fmt.Fprintf(w, "| %s | %s | %s | %d%s | %d | %d | %d |\n", dash(m.Provider), dash(m.Model), dash(m.ModelVersion),
			m.Records, mark(m.Unverified), m.Errors, m.InputTokens, m.OutputTokens)
	}
	fmt.Fprintf(w, "\nInput content of decisions: %d%s raw or redacted, %d%s as keyed digest only, %d%s not captured.\n",
		r.Content.Raw, mark(u.Content.Raw), r.Content.DigestOnly, mark(u.Content.DigestOnly), r.Content.None, mark(u.Content.None))

	for _, sec := range []struct {
		title string
		lines []EventLine
	}{{"Human oversight", r.Oversight}, {"Lifecycle and configuration changes", r.Lifecycle}} {
		fmt.Fprintf(w, "\n## %s\n\n", sec.title)
		if len(sec.lines) == 0 {
			fmt.Fprintln(w, "None in the period.")
			continue
		}
		fmt.Fprintln(w, "| time | event | actor | model | version | reference | record |\n|---|---|---|---|---|---|---|")
		for _, e := range sec.lines {
			id := e.RecordID
			if !e.Verified {
				id += " **(unverified)**"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", dash(e.Time), dash(e.Event), dash(e.Actor),
				dash(e.Model), dash(e.Version), dash(e.Reference), id)
		}
	}
	if len(r.Flags) > 0 {
		fmt.Fprintln(w, "\n## Data quality flags\n\n| flag | records |\n|---|---|")
		for _, fl := range sortedKeys(r.Flags) {
			fmt.Fprintf(w, "| %s | %d%s |\n", fl, r.Flags[fl], mark(u.Flags[fl]))
		}
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
