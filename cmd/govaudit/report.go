package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
	"github.com/govaudit/govaudit/internal/verify"
	"golang.org/x/mod/sumdb/note"
)

var cmdReport = &command{
	name:      "report",
	usageLine: "report --key FILE [--key FILE]... [--since TIME] [--until TIME] [--format markdown|json|html] ARCHIVE_DIR",
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
		// Keys are the trusted keys the archive was checked against.
		Keys []TrustedKey `json:"keys"`
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
	// Daily counts decisions per day (UTC, by event time) and model version.
	Daily []DailyDecisions `json:"decisions_per_day"`
	// OversightByModel relates oversight events to the decisions of each
	// model (see OversightRate).
	OversightByModel []OversightRate `json:"oversight_by_model"`
	// Oversight and Lifecycle are in time order (events without a time last).
	Oversight []EventLine `json:"oversight"`
	Lifecycle []EventLine `json:"lifecycle"`
	// Drift are the drift alerts sealed in the archive (records of type
	// drift, written by the decisionmetrics connector), in time order; the
	// reference names the feature, statistic, value and threshold.
	Drift []EventLine `json:"drift"`
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
	// Refusals counts decisions whose finish reasons include a refusal
	// (refusalReasons).
	Refusals     int   `json:"refusals"`
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
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
	// DecisionModel, for oversight, is the model of the decision it names
	// (by record_id or trace_id in reference), when the archive holds it.
	DecisionModel string `json:"decision_model,omitempty"`
	RecordID      string `json:"record_id"`
	// Verified is false for an event whose record is not verified.
	Verified bool `json:"verified"`

	loc rowLoc // where the record was read, to mark it unverified
}

// TrustedKey is a verifier key given with --key.
type TrustedKey struct {
	File string `json:"file"`
	Name string `json:"name"`
	// KeyHash is the note key hash (the 4 bytes that signatures name), in hex.
	KeyHash string `json:"key_hash"`
	// SHA256 is the SHA-256 of the verifier key text: its fingerprint.
	SHA256 string `json:"sha256"`
}

// DailyDecisions counts the decisions of one model version on one day.
type DailyDecisions struct {
	Day          string `json:"day"` // YYYY-MM-DD (UTC); empty for decisions without a time
	Model        string `json:"model"`
	ModelVersion string `json:"model_version,omitempty"`
	Decisions    int    `json:"decisions"`
	Unverified   int    `json:"unverified_decisions,omitempty"`
}

// OversightRate relates the oversight of one model to its decisions in
// the period: reviews and overrides per 1,000 decisions. An oversight
// event's model is its own (mlevents' model member), else that of the
// decision it names; events whose model is unknown have Model "".
type OversightRate struct {
	Model     string `json:"model"`
	Decisions int    `json:"decisions"`
	Reviews   int    `json:"reviews"`
	Overrides int    `json:"overrides"`
	// ReviewsPer1000 and OverridesPer1000 are 0 when Decisions is 0.
	ReviewsPer1000   float64 `json:"reviews_per_1000"`
	OverridesPer1000 float64 `json:"overrides_per_1000"`
	// Unverified counts the oversight events among Reviews and Overrides
	// that are not verified.
	Unverified int `json:"unverified_events,omitempty"`
}

// refusalReasons are the finish reasons that mean the model declined:
// OpenAI's and the OTel GenAI convention's content_filter, Anthropic's
// refusal.
var refusalReasons = map[string]bool{"content_filter": true, "refusal": true}

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
	format := fs.String("format", "markdown", "output format: markdown, json or html (one self-contained page with charts)")
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
	if *format != "markdown" && *format != "json" && *format != "html" {
		return c.usageError(stderr, "--format %q: want markdown, json or html", *format)
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
	if rep.Integrity.Keys, err = trustedKeys(*keys); err != nil {
		fmt.Fprintf(stderr, "govaudit report: %v\n", err)
		return exitUsage
	}
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
	if err := resolveOversight(pos[0], rep); err != nil {
		fmt.Fprintf(stderr, "govaudit report: %v\n", err)
		return exitUsage
	}
	rep.Since, rep.Until = timeValue{&f.Since}.String(), timeValue{&f.Until}.String()
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "govaudit report: %v\n", err)
			return exitUsage
		}
	} else if *format == "html" {
		if err := writeHTML(stdout, rep); err != nil {
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
		ByType: map[string]int{}, Flags: map[string]int{}, Oversight: []EventLine{}, Lifecycle: []EventLine{}, Drift: []EventLine{},
		Daily: []DailyDecisions{}, OversightByModel: []OversightRate{}}
}

// aggregate accumulates a Report from the data files, file by file.
type aggregate struct {
	rep    *Report
	filter archive.Filter
	models map[ModelUsage]*ModelUsage
	daily  map[DailyDecisions]*DailyDecisions // keyed by day, model and version
	// users and sessions count the records of each.
	users       map[string]int
	sessions    map[string]int
	first, last int64
}

func newAggregate(rep *Report, f archive.Filter) *aggregate {
	return &aggregate{rep: rep, filter: f, models: map[ModelUsage]*ModelUsage{}, daily: map[DailyDecisions]*DailyDecisions{},
		users: map[string]int{}, sessions: map[string]int{}}
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
		if t := r.EventTime(); t != 0 {
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
		case r.Type == record.TypeDrift:
			e := eventLine(r, rowLoc{file.Path, i})
			e.Reference = driftSummary(r.Attributes)
			rep.Drift = append(rep.Drift, e)
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
	for _, fr := range r.FinishReasons {
		if refusalReasons[fr] {
			m.Refusals++
			break
		}
	}
	day := DailyDecisions{Model: model, ModelVersion: r.ModelVersion}
	if t := r.EventTime(); t != 0 {
		day.Day = time.Unix(0, t).UTC().Format(time.DateOnly)
	}
	d := a.daily[day]
	if d == nil {
		d = &DailyDecisions{Day: day.Day, Model: day.Model, ModelVersion: day.ModelVersion}
		a.daily[day] = d
	}
	d.Decisions++
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
	for key, d := range un.daily {
		if all := a.daily[key]; all != nil {
			all.Unverified = d.Decisions
		}
	}
	bad := map[rowLoc]bool{}
	for f, rs := range rows {
		for _, r := range rs {
			bad[rowLoc{f, r}] = true
		}
	}
	for _, lines := range [][]EventLine{rep.Oversight, rep.Lifecycle, rep.Drift} {
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
	for _, d := range a.daily {
		rep.Daily = append(rep.Daily, *d)
	}
	sort.Slice(rep.Daily, func(i, j int) bool {
		x, y := rep.Daily[i], rep.Daily[j]
		if (x.Day == "") != (y.Day == "") {
			return y.Day == ""
		}
		if x.Day != y.Day {
			return x.Day < y.Day
		}
		return x.Model+"\x00"+x.ModelVersion < y.Model+"\x00"+y.ModelVersion
	})
	// Events in time order, whatever the order of the files; RFC 3339 in
	// UTC sorts as text. Events without a time go last.
	for _, lines := range [][]EventLine{rep.Oversight, rep.Lifecycle, rep.Drift} {
		sort.SliceStable(lines, func(i, j int) bool {
			x, y := lines[i].Time, lines[j].Time
			if (x == "") != (y == "") {
				return y == ""
			}
			return x < y
		})
	}
	sort.Slice(rep.Models, func(i, j int) bool {
		x, y := rep.Models[i], rep.Models[j]
		if x.Records != y.Records {
			return x.Records > y.Records
		}
		return x.Provider+x.Model+x.ModelVersion < y.Provider+y.Model+y.ModelVersion
	})
}

// trustedKeys describes the verifier keys in the files given with --key.
func trustedKeys(files []string) ([]TrustedKey, error) {
	var keys []TrustedKey
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			v, err := note.NewVerifier(line)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			sum := sha256.Sum256([]byte(line))
			keys = append(keys, TrustedKey{File: file, Name: v.Name(), KeyHash: fmt.Sprintf("%08x", v.KeyHash()),
				SHA256: hex.EncodeToString(sum[:])})
		}
	}
	return keys, nil
}

// Oversight event names (mlevents, docs/ml-events.md).
const (
	eventReviewed   = "decision.reviewed"
	eventOverridden = "decision.overridden"
)

// resolveOversight finds, for each oversight event that names no model,
// the model of the decision it names (reference: a record_id, or a trace
// id), reading the archive's data files again only if there is such an
// event: holding every decision's id in memory would not be bounded. Then
// it computes rep.OversightByModel.
func resolveOversight(root string, rep *Report) error {
	wanted := map[string]string{} // record_id or trace_id -> model
	for _, e := range rep.Oversight {
		if e.Model == "" && e.Reference != "" {
			wanted[e.Reference] = ""
		}
	}
	if len(wanted) > 0 {
		files, err := archive.DataFiles(root)
		if err != nil {
			return err
		}
		if err := forEachDecoded(root, files, runtime.GOMAXPROCS(0), func(_ int, f verify.File) {
			for i := range f.Rows {
				r := &f.Rows[i]
				if !decisionTypes[r.Type] || r.IsDuplicate() {
					continue
				}
				model := r.ResponseModel
				if model == "" {
					model = r.RequestModel
				}
				for _, k := range []string{r.ID, r.TraceID} {
					if m, ok := wanted[k]; ok && m == "" && k != "" {
						wanted[k] = model
					}
				}
			}
		}); err != nil {
			return err
		}
		for i := range rep.Oversight {
			if e := &rep.Oversight[i]; e.Model == "" {
				e.DecisionModel = wanted[e.Reference]
			}
		}
	}
	rates := map[string]*OversightRate{}
	get := func(model string) *OversightRate {
		o := rates[model]
		if o == nil {
			o = &OversightRate{Model: model}
			rates[model] = o
		}
		return o
	}
	for _, m := range rep.Models {
		get(m.Model).Decisions += m.Records
	}
	for _, e := range rep.Oversight {
		model := e.Model
		if model == "" {
			model = e.DecisionModel
		}
		o := get(model)
		switch e.Event {
		case eventReviewed:
			o.Reviews++
		case eventOverridden:
			o.Overrides++
		default:
			continue
		}
		if !e.Verified {
			o.Unverified++
		}
	}
	rep.OversightByModel = rep.OversightByModel[:0]
	for _, o := range rates {
		if o.Decisions > 0 {
			o.ReviewsPer1000 = 1000 * float64(o.Reviews) / float64(o.Decisions)
			o.OverridesPer1000 = 1000 * float64(o.Overrides) / float64(o.Decisions)
		}
		rep.OversightByModel = append(rep.OversightByModel, *o)
	}
	sort.Slice(rep.OversightByModel, func(i, j int) bool {
		x, y := rep.OversightByModel[i], rep.OversightByModel[j]
		if x.Decisions != y.Decisions {
			return x.Decisions > y.Decisions
		}
		return x.Model < y.Model
	})
	return nil
}

// rate is n/total as a percentage with one decimal, "—" when total is 0.
func rate(n, total int) string {
	if total == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

func eventLine(r *record.Record, loc rowLoc) EventLine {
	e := EventLine{Type: string(r.Type), Event: r.EventName, Actor: r.UserID, Model: r.RequestModel,
		Version: r.ModelVersion, Reference: r.Reference, RecordID: r.ID, loc: loc}
	if t := r.EventTime(); t != 0 {
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
	fmt.Fprintln(w, "\n| trusted key | key hash | SHA-256 fingerprint | file |\n|---|---|---|---|")
	for _, k := range r.Integrity.Keys {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", dash(k.Name), k.KeyHash, k.SHA256, dash(k.File))
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
	if n := r.Flags[record.FlagDuplicate]; n > 0 {
		fmt.Fprintf(w, "\n%d of these records describe a model call another record already describes (flag duplicate): kept as evidence, counted once as a decision.\n", n)
	}

	fmt.Fprintln(w, "\n## Models\n\n| provider | model | version | decisions | errors | error rate | refusals | refusal rate | input tokens | output tokens |\n|---|---|---|---|---|---|---|---|---|---|")
	for _, m := range r.Models {
		fmt.Fprintf(w, "| %s | %s | %s | %d%s | %d | %s | %d | %s | %d | %d |\n", dash(m.Provider), dash(m.Model), dash(m.ModelVersion),
			m.Records, mark(m.Unverified), m.Errors, rate(m.Errors, m.Records), m.Refusals, rate(m.Refusals, m.Records),
			m.InputTokens, m.OutputTokens)
	}
	if len(r.Daily) > 0 {
		fmt.Fprintln(w, "\n### Decisions per day\n\n| day (UTC) | model | version | decisions |\n|---|---|---|---|")
		for _, d := range r.Daily {
			fmt.Fprintf(w, "| %s | %s | %s | %d%s |\n", dash(d.Day), dash(d.Model), dash(d.ModelVersion), d.Decisions, mark(d.Unverified))
		}
	}
	if len(r.OversightByModel) > 0 {
		fmt.Fprintln(w, "\n### Oversight per 1,000 decisions\n\n| model | decisions | reviews | per 1,000 | overrides | per 1,000 |\n|---|---|---|---|---|---|")
		for _, o := range r.OversightByModel {
			fmt.Fprintf(w, "| %s | %d | %d%s | %.1f | %d | %.1f |\n", dash(o.Model), o.Decisions, o.Reviews, mark(o.Unverified),
				o.ReviewsPer1000, o.Overrides, o.OverridesPer1000)
		}
	}
	fmt.Fprintf(w, "\nInput content of decisions: %d%s raw or redacted, %d%s as keyed digest only, %d%s not captured.\n",
		r.Content.Raw, mark(u.Content.Raw), r.Content.DigestOnly, mark(u.Content.DigestOnly), r.Content.None, mark(u.Content.None))

	for _, sec := range []struct {
		title string
		lines []EventLine
	}{{"Human oversight", r.Oversight}, {"Lifecycle and configuration changes", r.Lifecycle}, {"Drift alerts", r.Drift}} {
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
