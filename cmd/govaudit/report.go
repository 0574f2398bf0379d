package main

import (
	"encoding/json"
	"fmt"
	"io"
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
	usageLine: "report --key FILE [--key FILE]... [--since RFC3339] [--until RFC3339] [--format markdown|json] ARCHIVE_DIR",
	short:     "summarise an archive for an audit: integrity, models, decisions, human oversight and lifecycle events",
	run:       runReport,
}

// Report is the summary written by govaudit report. Its JSON form is stable.
type Report struct {
	Archive     string    `json:"archive"`
	GeneratedAt time.Time `json:"generated_at"`
	Since       string    `json:"since,omitempty"`
	Until       string    `json:"until,omitempty"`
	// Integrity is the verification of the whole archive, whatever the period.
	Integrity struct {
		Verified    bool               `json:"verified"`
		Problems    int                `json:"problems"`
		Unsealed    uint64             `json:"unsealed"`
		Logs        []verify.LogReport `json:"logs"`
		FirstIssues []string           `json:"first_issues,omitempty"`
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
	fs.Var(timeValue{&f.Since}, "since", "period start (RFC 3339); default: the first record")
	fs.Var(timeValue{&f.Until}, "until", "period end, exclusive (RFC 3339); default: after the last record")
	format := fs.String("format", "markdown", "output format: markdown or json")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || len(*keys) == 0 || (*format != "markdown" && *format != "json") {
		fs.Usage()
		return exitUsage
	}
	trusted, err := auditlog.LoadVerifiers(*keys...)
	if err != nil {
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
	agg.finish(checker.Report())
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
	rep         *Report
	filter      archive.Filter
	models      map[ModelUsage]*ModelUsage
	users       map[string]bool
	sessions    map[string]bool
	first, last int64
}

func newAggregate(rep *Report, f archive.Filter) *aggregate {
	return &aggregate{rep: rep, filter: f, models: map[ModelUsage]*ModelUsage{}, users: map[string]bool{}, sessions: map[string]bool{}}
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
			a.users[r.UserID] = true
		}
		if r.SessionID != "" {
			a.sessions[r.SessionID] = true
		}
		switch {
		case decisionTypes[r.Type]:
			a.addDecision(r)
		case r.Type == record.TypeOversight:
			rep.Oversight = append(rep.Oversight, eventLine(r))
		case r.Type == record.TypeLifecycle || r.Type == record.TypeConfigChange:
			rep.Lifecycle = append(rep.Lifecycle, eventLine(r))
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

// finish completes the report with the verification result v.
func (a *aggregate) finish(v *verify.Report) {
	rep := a.rep
	rep.Integrity.Verified = v.OK(false)
	rep.Integrity.Problems = len(v.Problems)
	rep.Integrity.Logs = v.Logs
	for _, l := range v.Logs {
		rep.Integrity.Unsealed += l.Unsealed
	}
	for i, p := range v.Problems {
		if i == 5 {
			break
		}
		rep.Integrity.FirstIssues = append(rep.Integrity.FirstIssues, p.String())
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

func eventLine(r *record.Record) EventLine {
	e := EventLine{Type: string(r.Type), Event: r.EventName, Actor: r.UserID, Model: r.RequestModel,
		Version: r.ModelVersion, Reference: r.Reference, RecordID: r.ID}
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
	fmt.Fprintf(w, "# Audit report: %s\n\nGenerated %s", r.Archive, r.GeneratedAt.Format(time.RFC3339))
	if r.Since != "" || r.Until != "" {
		fmt.Fprintf(w, " for the period [%s, %s)", dash(r.Since), dash(r.Until))
	}
	fmt.Fprintf(w, ".\n\n## Integrity\n\n")
	if r.Integrity.Verified {
		fmt.Fprintf(w, "**Verified.** Every record, Merkle tree and signed checkpoint of the archive checked out")
		if r.Integrity.Unsealed > 0 {
			fmt.Fprintf(w, "; %d records are not yet covered by a checkpoint (unsealed)", r.Integrity.Unsealed)
		}
		fmt.Fprintln(w, ".")
	} else {
		fmt.Fprintf(w, "**FAILED: %d integrity problems.** Run `govaudit verify` for the full list. First:\n\n", r.Integrity.Problems)
		for _, p := range r.Integrity.FirstIssues {
			fmt.Fprintf(w, "- %s\n", p)
		}
	}
	fmt.Fprintln(w, "\n| log (origin/epoch) | records | verified size | keys |\n|---|---|---|---|")
	for _, l := range r.Integrity.Logs {
		fmt.Fprintf(w, "| %s | %d | %d | %s |\n", auditlog.LogID(l.Origin, l.Epoch), l.Leaves, l.Verified, dash(strings.Join(l.KeyNames, ", ")))
	}

	fmt.Fprintf(w, "\n## Records\n\n%d records from %s to %s; %d distinct users, %d sessions; %d model decisions without a user.\n\n",
		r.Records, dash(r.FirstEvent), dash(r.LastEvent), r.Users, r.Sessions, r.Unattributed)
	fmt.Fprintln(w, "| record type | records |\n|---|---|")
	for _, t := range sortedKeys(r.ByType) {
		fmt.Fprintf(w, "| %s | %d |\n", t, r.ByType[t])
	}

	fmt.Fprintln(w, "\n## Models\n\n| provider | model | version | decisions | errors | input tokens | output tokens |\n|---|---|---|---|---|---|---|")
	for _, m := range r.Models {
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %d | %d |\n", dash(m.Provider), dash(m.Model), dash(m.ModelVersion),
			m.Records, m.Errors, m.InputTokens, m.OutputTokens)
	}
	fmt.Fprintf(w, "\nInput content of decisions: %d raw or redacted, %d as keyed digest only, %d not captured.\n",
		r.Content.Raw, r.Content.DigestOnly, r.Content.None)

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
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", dash(e.Time), dash(e.Event), dash(e.Actor),
				dash(e.Model), dash(e.Version), dash(e.Reference), e.RecordID)
		}
	}
	if len(r.Flags) > 0 {
		fmt.Fprintln(w, "\n## Data quality flags\n\n| flag | records |\n|---|---|")
		for _, fl := range sortedKeys(r.Flags) {
			fmt.Fprintf(w, "| %s | %d |\n", fl, r.Flags[fl])
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
