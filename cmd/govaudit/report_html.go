package main

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The HTML report is one self-contained page: inline CSS, charts as inline
// SVG drawn here, no script, and a Content-Security-Policy that forbids
// every fetch, so opening it offline or from an archive of evidence makes no
// network request. The charts are hand-written SVG rather than
// gonum.org/v1/plot: a few bar and line charts do not justify adding
// gonum, its font and LaTeX packages to the module every component shares,
// and vgsvg embeds the fonts in each chart.

// writeHTML writes r as the HTML report.
func writeHTML(w io.Writer, r *Report) error {
	return htmlReport.Execute(w, htmlView{R: r})
}

// htmlView is what the template renders: the report and its charts.
type htmlView struct{ R *Report }

func (v htmlView) DailyChart() template.HTML     { return dailyChart(v.R.Daily) }
func (v htmlView) OversightChart() template.HTML { return oversightChart(v.R.OversightByModel) }
func (v htmlView) RatesChart() template.HTML     { return ratesChart(v.R.Models) }
func (v htmlView) TokensChart() template.HTML    { return tokensChart(v.R.Models) }
func (v htmlView) Timeline() template.HTML       { return timelineChart(v.R.Lifecycle) }

// Leaves counts the archive's leaves, covered or not.
func (v htmlView) Leaves() uint64 { return v.R.Integrity.Covered + v.R.Integrity.Uncovered }

// UnverifiedEvents counts the oversight, lifecycle and drift events not verified.
func (v htmlView) UnverifiedEvents() int {
	n := 0
	for _, lines := range [][]EventLine{v.R.Oversight, v.R.Lifecycle, v.R.Drift} {
		for _, e := range lines {
			if !e.Verified {
				n++
			}
		}
	}
	return n
}

// thousands formats n with a comma every three digits: 1234567 -> 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// num formats any integer figure with thousands separators.
func num(v any) string {
	switch n := v.(type) {
	case int:
		return thousands(int64(n))
	case int64:
		return thousands(n)
	case uint64:
		if n > math.MaxInt64 {
			return strconv.FormatUint(n, 10)
		}
		return thousands(int64(n))
	}
	return fmt.Sprint(v)
}

var htmlFuncs = template.FuncMap{
	"num":  num,
	"rate": rate,
	"f1":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
	"dash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
	"join": strings.Join,
	// unv marks a figure that includes unverified records.
	"unv": func(n int) template.HTML {
		if n == 0 {
			return ""
		}
		return template.HTML(`<span class="unverified" title="includes records that are not verified">(` + thousands(int64(n)) + ` unverified)</span>`)
	},
}

// palette are the series colours (colour-blind safe, Okabe-Ito).
var palette = []string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000"}

// esc escapes text for SVG (XML) content and attributes.
func esc(s string) string { return template.HTMLEscapeString(s) }

// divisions is the number of grid steps that makes round ticks for top
// (a niceMax): 0.2 steps of 1, 0.5 of 2, 1 of 5.
func divisions(top float64) int {
	m := top / math.Pow(10, math.Floor(math.Log10(top)))
	if math.Abs(m-2) < 1e-9 {
		return 4
	}
	return 5
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten, for axis ticks.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return thousands(int64(v))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// barSeries is one series of a grouped bar chart.
type barSeries struct {
	name   string
	values []float64
}

// barChart draws horizontal grouped bars: one group per category, one bar
// per series, values labelled with format.
func barChart(id, title string, categories []string, series []barSeries, format func(float64) string) template.HTML {
	if len(categories) == 0 {
		return template.HTML(`<p class="empty">No data in the period.</p>`)
	}
	const left, width, barH, gap = 220, 720, 14, 10
	groupH := len(series)*barH + gap
	height := 40 + len(categories)*groupH + 30
	maxV := 0.0
	for _, s := range series {
		for _, v := range s.values {
			maxV = math.Max(maxV, v)
		}
	}
	top := niceMax(maxV)
	plotW := float64(width - left - 80)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`,
		esc(id), esc(title), width, height, width, height)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(title))
	div := divisions(top)
	for i := 0; i <= div; i++ {
		x := float64(left) + plotW*float64(i)/float64(div)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="30" x2="%.1f" y2="%d" class="grid"/><text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`,
			x, x, height-25, x, height-10, esc(format(top*float64(i)/float64(div))))
	}
	for ci, cat := range categories {
		y0 := 35 + ci*groupH
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label" text-anchor="end">%s</text>`, left-8, y0+len(series)*barH/2+4, esc(cat))
		for si, s := range series {
			v := s.values[ci]
			w := plotW * v / top
			y := y0 + si*barH
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s %s</title></rect>`,
				left, y, w, barH-2, palette[si%len(palette)], esc(cat), esc(s.name), esc(format(v)))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%s</text>`, float64(left)+w+4, y+barH-4, esc(format(v)))
		}
	}
	legend(&b, series, 8, 16)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func legend(b *strings.Builder, series []barSeries, x, y int) {
	for i, s := range series {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="legend">%s</text>`,
			x, y-9, palette[i%len(palette)], x+14, y, esc(s.name))
		x += 24 + 7*len(s.name)
	}
}

// modelLabel names a model version, marking unverified decisions.
func modelLabel(model, version string, unverified int) string {
	l := model
	if l == "" {
		l = "(no model)"
	}
	if version != "" {
		l += " v" + version
	}
	if unverified > 0 {
		l += fmt.Sprintf(" (%s unverified)", thousands(int64(unverified)))
	}
	return l
}

func ratesChart(models []ModelUsage) template.HTML {
	var cats []string
	errs, refusals := barSeries{name: "error rate"}, barSeries{name: "refusal rate"}
	for _, m := range models {
		if m.Records == 0 {
			continue
		}
		cats = append(cats, modelLabel(m.Model, m.ModelVersion, m.Unverified))
		errs.values = append(errs.values, 100*float64(m.Errors)/float64(m.Records))
		refusals.values = append(refusals.values, 100*float64(m.Refusals)/float64(m.Records))
	}
	return barChart("rates", "Error and refusal rates by model version (% of decisions)", cats, []barSeries{errs, refusals},
		func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" })
}

func tokensChart(models []ModelUsage) template.HTML {
	var cats []string
	in, out := barSeries{name: "input tokens"}, barSeries{name: "output tokens"}
	for _, m := range models {
		if m.InputTokens == 0 && m.OutputTokens == 0 {
			continue
		}
		cats = append(cats, modelLabel(m.Model, m.ModelVersion, m.Unverified))
		in.values = append(in.values, float64(m.InputTokens))
		out.values = append(out.values, float64(m.OutputTokens))
	}
	return barChart("tokens", "Token usage by model version", cats, []barSeries{in, out}, fmtTick)
}

func oversightChart(rates []OversightRate) template.HTML {
	var cats []string
	rev, ovr := barSeries{name: "reviews per 1,000 decisions"}, barSeries{name: "overrides per 1,000 decisions"}
	for _, o := range rates {
		if o.Decisions == 0 {
			continue // a rate needs decisions; the table lists the events
		}
		cats = append(cats, modelLabel(o.Model, "", o.Unverified))
		rev.values = append(rev.values, o.ReviewsPer1000)
		ovr.values = append(ovr.values, o.OverridesPer1000)
	}
	return barChart("oversight", "Human oversight per 1,000 decisions, by model", cats, []barSeries{rev, ovr},
		func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) })
}

// dailyChart draws decisions per day, one line per model version.
func dailyChart(daily []DailyDecisions) template.HTML {
	dayIdx := map[string]int{}
	var days []string
	type key struct{ model, version string }
	lines := map[key][]float64{}
	unverified := map[key]int{}
	var keys []key
	for _, d := range daily {
		if d.Day == "" {
			continue
		}
		if _, ok := dayIdx[d.Day]; !ok {
			dayIdx[d.Day] = len(days)
			days = append(days, d.Day)
		}
	}
	sort.Strings(days)
	for i, d := range days {
		dayIdx[d] = i
	}
	for _, d := range daily {
		if d.Day == "" {
			continue
		}
		k := key{d.Model, d.ModelVersion}
		if lines[k] == nil {
			lines[k] = make([]float64, len(days))
			keys = append(keys, k)
		}
		lines[k][dayIdx[d.Day]] += float64(d.Decisions)
		unverified[k] += d.Unverified
	}
	if len(days) == 0 {
		return template.HTML(`<p class="empty">No decisions with a time in the period.</p>`)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].model+"\x00"+keys[i].version < keys[j].model+"\x00"+keys[j].version
	})
	const width, height, left, right, top, bottom = 760, 300, 60, 50, 40, 50
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	maxV := 0.0
	for _, vs := range lines {
		for _, v := range vs {
			maxV = math.Max(maxV, v)
		}
	}
	ymax := niceMax(maxV)
	xOf := func(i int) float64 {
		if len(days) == 1 {
			return float64(left) + plotW/2
		}
		return float64(left) + plotW*float64(i)/float64(len(days)-1)
	}
	yOf := func(v float64) float64 { return float64(top) + plotH*(1-v/ymax) }
	var b strings.Builder
	title := "Decisions per day (UTC) by model version"
	fmt.Fprintf(&b, `<svg class="chart" data-chart="decisions-per-day" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d"><title>%s</title>`,
		title, width, height, width, height, title)
	div := divisions(ymax)
	for i := 0; i <= div; i++ {
		v := ymax * float64(i) / float64(div)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`,
			left, yOf(v), width-right, yOf(v), left-6, yOf(v)+4, esc(fmtTick(v)))
	}
	step := max(1, len(days)/8) // at most about 8 day labels
	for i, d := range days {
		if i%step == 0 || i == len(days)-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, xOf(i), height-bottom+18, esc(d))
		}
	}
	var series []barSeries
	for si, k := range keys {
		color := palette[si%len(palette)]
		var pts []string
		for i, v := range lines[k] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(i), yOf(v)))
		}
		name := modelLabel(k.model, k.version, unverified[k])
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), color)
		for i, v := range lines[k] {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`,
				xOf(i), yOf(v), color, esc(name), esc(days[i]), esc(fmtTick(v)))
		}
		series = append(series, barSeries{name: name})
	}
	legend(&b, series, 8, 16)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timelineChart places lifecycle and configuration events on a time axis,
// one row per event in time order (at most 60 drawn; the table lists all).
func timelineChart(events []EventLine) template.HTML {
	type pt struct {
		t time.Time
		e EventLine
	}
	var pts []pt
	for _, e := range events {
		if t, err := time.Parse(time.RFC3339, e.Time); err == nil {
			pts = append(pts, pt{t, e})
		}
	}
	if len(pts) == 0 {
		return template.HTML(`<p class="empty">No timed lifecycle events in the period.</p>`)
	}
	const maxRows = 60
	drawn := pts[:min(len(pts), maxRows)]
	first, last := drawn[0].t, drawn[len(drawn)-1].t
	span := last.Sub(first)
	const width, left, right, rowH = 760, 20, 300, 18
	height := 50 + len(drawn)*rowH
	plotW := float64(width - left - right)
	xOf := func(t time.Time) float64 {
		if span == 0 {
			return float64(left) + plotW/2
		}
		return float64(left) + plotW*float64(t.Sub(first))/float64(span)
	}
	var b strings.Builder
	title := "Lifecycle and configuration events in time order"
	fmt.Fprintf(&b, `<svg class="chart" data-chart="lifecycle-timeline" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d"><title>%s</title>`,
		title, width, height, width, height, title)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, height-30, width-right, height-30)
	fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick">%s</text><text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`,
		left, height-12, esc(first.Format(time.RFC3339)), width-right, height-12, esc(last.Format(time.RFC3339)))
	for i, p := range drawn {
		y := 20 + i*rowH
		x := xOf(p.t)
		cls := "event"
		label := p.e.Event + " " + modelLabel(p.e.Model, p.e.Version, 0)
		if !p.e.Verified {
			cls, label = "event unverified-mark", label+" (unverified)"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="grid"/>`, x, y, x, height-30)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%d" r="5" class="%s"><title>%s %s</title></circle>`, x, y, cls, esc(p.e.Time), esc(label))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="label">%s %s</text>`, width-right+10, y+4, esc(p.t.Format("2006-01-02 15:04")), esc(label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var htmlReport = template.Must(template.New("report").Funcs(htmlFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Audit report: {{.R.Archive}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:62em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
.verdict{padding:.8em 1em;border-radius:4px;font-weight:600}.ok{background:#e6f4ea;border:1px solid #2e7d32}
.failed{background:#fdecea;border:1px solid #c62828}.unverified{color:#c62828;font-weight:600;white-space:nowrap}
tr.unverified-row td{background:#fdecea}code{font-size:.9em;word-break:break-all}
svg.chart{display:block;margin:1em 0;max-width:100%;height:auto;font-size:11px}
.grid{stroke:#e3e3e3}.axis{stroke:#888}.tick,.legend,.value{fill:#444}.label{fill:#222}
circle.event{fill:#0072b2}circle.unverified-mark{fill:#c62828}.empty{color:#666;font-style:italic}
</style>
</head>
<body>
<h1>Audit report: {{.R.Archive}}</h1>
<p>Generated {{.R.GeneratedAt.Format "2006-01-02T15:04:05Z07:00"}}{{if or .R.Since .R.Until}} for the period [{{dash .R.Since}}, {{dash .R.Until}}){{end}}.
Events from {{dash .R.FirstEvent}} to {{dash .R.LastEvent}}.</p>

<h2 id="integrity">Integrity</h2>
{{if .R.Integrity.Verified}}<p class="verdict ok" data-verified="true">Verified. Every record, Merkle tree and signed checkpoint of the archive checked out:
all {{num .R.Integrity.Covered}} records are covered by checkpoints signed with a trusted key.</p>
{{else}}<div class="verdict failed" data-verified="false"><p>FAILED: {{num .R.Integrity.Problems}} integrity problems. Run <code>govaudit verify</code> for the full list.
{{num .R.Integrity.Uncovered}} of the archive's {{num .Leaves}} records are covered by no checkpoint signed with a trusted key.
{{if .R.Integrity.UnreadableFiles}}{{num .R.Integrity.UnreadableFiles}} data files could not be read: no figure below counts their records.{{end}}
Every figure below that includes records which are not verified is marked <span class="unverified">(N unverified)</span>.</p>
<ul>{{range .R.Integrity.FirstIssues}}<li><code>{{.}}</code></li>{{end}}</ul></div>
{{end}}
<h3>Trusted keys</h3>
<table><tr><th>key name</th><th>key hash</th><th>SHA-256 fingerprint</th><th>file</th></tr>
{{range .R.Integrity.Keys}}<tr><td>{{.Name}}</td><td><code>{{.KeyHash}}</code></td><td><code>{{.SHA256}}</code></td><td><code>{{.File}}</code></td></tr>{{end}}
</table>
<h3>Logs (origin and epoch)</h3>
<table><tr><th>origin</th><th>epoch</th><th>records</th><th>covered</th><th>not covered</th><th>checkpointed size</th><th>checkpoints</th><th>signed by</th></tr>
{{range .R.Integrity.Logs}}<tr{{if .Uncovered}} class="unverified-row"{{end}}><td>{{.Origin}}</td><td class="n">{{.Epoch}}</td><td class="n">{{num .Leaves}}</td><td class="n">{{num .Covered}}</td>
<td class="n">{{num .Uncovered}}{{if .Uncovered}} <span class="unverified">unverified</span>{{end}}</td><td class="n">{{num .Verified}}</td><td class="n">{{num .Checkpoints}}</td><td>{{dash (join .KeyNames ", ")}}</td></tr>{{end}}
</table>
{{if .R.Unverified.Records}}<p class="unverified">{{num .R.Unverified.Records}} of the {{num .R.Records}} records in the period are not verified{{if .UnverifiedEvents}}, among them {{num .UnverifiedEvents}} oversight or lifecycle events (marked below){{end}}.</p>{{end}}

<h2 id="records">Records</h2>
<p>{{num .R.Records}} records {{unv .R.Unverified.Records}}; {{num .R.Users}} distinct users, {{num .R.Sessions}} sessions;
{{num .R.Unattributed}} model decisions without a user{{if .R.Unverified.Unattributed}} {{unv .R.Unverified.Unattributed}}{{end}}.</p>
<table><tr><th>record type</th><th>records</th></tr>
{{range $t, $n := .R.ByType}}<tr><td>{{$t}}</td><td class="n">{{num $n}} {{unv (index $.R.Unverified.ByType $t)}}</td></tr>{{end}}
</table>
{{with index .R.Flags "duplicate"}}<p>{{num .}} of these records describe a model call another record already describes (flag duplicate): kept as evidence, counted once as a decision.</p>{{end}}

<h2 id="decisions">Decisions per day</h2>
{{.DailyChart}}
<table><tr><th>day (UTC)</th><th>model</th><th>version</th><th>decisions</th></tr>
{{range .R.Daily}}<tr><td>{{dash .Day}}</td><td>{{dash .Model}}</td><td>{{dash .ModelVersion}}</td><td class="n">{{num .Decisions}} {{unv .Unverified}}</td></tr>{{end}}
</table>

<h2 id="models">Models: errors, refusals and tokens</h2>
{{.RatesChart}}
{{.TokensChart}}
<table><tr><th>provider</th><th>model</th><th>version</th><th>decisions</th><th>errors</th><th>error rate</th><th>refusals</th><th>refusal rate</th><th>input tokens</th><th>output tokens</th></tr>
{{range .R.Models}}<tr><td>{{dash .Provider}}</td><td>{{dash .Model}}</td><td>{{dash .ModelVersion}}</td><td class="n">{{num .Records}} {{unv .Unverified}}</td>
<td class="n">{{num .Errors}}</td><td class="n">{{rate .Errors .Records}}</td><td class="n">{{num .Refusals}}</td><td class="n">{{rate .Refusals .Records}}</td>
<td class="n">{{num .InputTokens}}</td><td class="n">{{num .OutputTokens}}</td></tr>{{end}}
</table>
<p>Input content of decisions: {{num .R.Content.Raw}} {{unv .R.Unverified.Content.Raw}} raw or redacted, {{num .R.Content.DigestOnly}} {{unv .R.Unverified.Content.DigestOnly}} as keyed digest only,
{{num .R.Content.None}} {{unv .R.Unverified.Content.None}} not captured.</p>

<h2 id="oversight">Human oversight</h2>
{{.OversightChart}}
<table><tr><th>model</th><th>decisions</th><th>reviews</th><th>per 1,000</th><th>overrides</th><th>per 1,000</th></tr>
{{range .R.OversightByModel}}<tr><td>{{if .Model}}{{.Model}}{{else}}(model unknown){{end}} {{unv .Unverified}}</td><td class="n">{{num .Decisions}}</td><td class="n">{{num .Reviews}}</td>
<td class="n">{{f1 .ReviewsPer1000}}</td><td class="n">{{num .Overrides}}</td><td class="n">{{f1 .OverridesPer1000}}</td></tr>{{end}}
</table>
{{template "events" .R.Oversight}}

<h2 id="lifecycle">Lifecycle and configuration changes</h2>
{{.Timeline}}
{{template "events" .R.Lifecycle}}

<h2 id="drift">Drift alerts</h2>
{{template "events" .R.Drift}}

<h2 id="quality">Data-quality flags</h2>
{{if .R.Flags}}<table><tr><th>flag</th><th>records</th></tr>
{{range $f, $n := .R.Flags}}<tr><td><code>{{$f}}</code></td><td class="n">{{num $n}} {{unv (index $.R.Unverified.Flags $f)}}</td></tr>{{end}}
</table>{{else}}<p class="empty">No record in the period carries a quality flag.</p>{{end}}
</body>
</html>
{{define "events"}}{{if .}}<table><tr><th>time</th><th>event</th><th>actor</th><th>model</th><th>version</th><th>reference</th><th>record</th></tr>
{{range .}}<tr{{if not .Verified}} class="unverified-row"{{end}}><td>{{dash .Time}}</td><td>{{dash .Event}}</td><td>{{dash .Actor}}</td><td>{{if .Model}}{{.Model}}{{else if .DecisionModel}}{{.DecisionModel}} (of the decision){{else}}—{{end}}</td>
<td>{{dash .Version}}</td><td><code>{{dash .Reference}}</code></td><td><code>{{.RecordID}}</code>{{if not .Verified}} <span class="unverified">(unverified)</span>{{end}}</td></tr>{{end}}
</table>{{else}}<p class="empty">None in the period.</p>{{end}}{{end}}
`))
